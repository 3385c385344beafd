"""Every full-scale config builds its model and trains two steps at its real input shapes.

  python benchmarks/full_scale_smoke.py [--configs cifar10_resnet18_t4,shd] [--batch_size 8]
                                        [--json out.json]

Each config of ``experiments/configs`` that trains a paper-scale model runs in its own process
(so each peak memory is its own) through the common loop (``asgl_jax.train``): the config as
shipped, on random inputs of the dataset's real shape and dtype (images, event frames or spike
counts; the datasets themselves are not needed), for two training steps and one evaluation.
``--batch_size`` shrinks the batch (for a small machine); by default each config's own batch.
Reports per config: parameters, the input shape, the wall time of the two steps with compilation
(first step) and without (second), and the peak memory (accelerator: JAX's ``peak_bytes_in_use``;
CPU: the process's peak resident set).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = (
  "cifar10_cifarnet_t2",
  "cifar10_cifarnet_t4",
  "cifar10_resnet18_t2",
  "cifar10_resnet18_t4",
  "cifar10_resnet19_t3_width",
  "cifar100_cifarnet_t2",
  "cifar100_cifarnet_t4",
  "cifar100_resnet18_t2",
  "cifar100_resnet18_t4",
  "cifar100_resnet18_t3_width",
  "cifar10_vgg19_t3_width",
  "tinyimagenet_vgg13_t4",
  "tinyimagenet_vgg13_t8",
  "dvs_cifar10",
  "dvs_gesture",
  "shd",
  "medlydb",
)
# dataset name -> (example shape given the config, classes, "image" | "spikes")
SHAPES = {
  "cifar10": (lambda c: (32, 32, 3), 10, "image"),
  "cifar100": (lambda c: (32, 32, 3), 100, "image"),
  "tiny_imagenet": (lambda c: (64, 64, 3), 200, "image"),
  "dvs_cifar10": (lambda c: (c.time_steps, c.dataset.size, c.dataset.size, 2), 10, "frames"),
  "dvs_gesture": (
    lambda c: (c.time_steps, c.dataset.frame_size, c.dataset.frame_size, 2),
    11,
    "frames",
  ),
  "shd": (lambda c: (c.time_steps, 700), 20, "spikes"),
  "spikegrams": (lambda c: (c.time_steps, c.dataset.channels), 10, "spikes"),
}


def synthetic_dataset(config, batch_size: int):
  """An ArrayDataset of random inputs of the config's dataset shape: 2 training batches, one
  validation and one test batch."""
  import numpy as np

  from asgl_jax import data

  shape_fn, classes, kind = SHAPES[config.dataset.name]
  shape = shape_fn(config)
  rng = np.random.default_rng(0)

  def split(n):
    if kind == "image":
      x = rng.normal(size=(n, *shape)).astype(np.float32)
    elif kind == "frames":
      x = rng.poisson(0.3, size=(n, *shape)).astype(np.float16)
    else:
      x = (rng.random((n, *shape)) < 0.05).astype(np.uint8)
    return x, rng.integers(0, classes, n).astype(np.int32)

  splits = {"train": split(2 * batch_size), "validation": split(batch_size)}
  splits["test"] = split(batch_size)
  return data.ArrayDataset(splits, num_classes=classes, name=config.dataset.name), shape


def run_one(name: str, batch_size: int | None) -> dict:
  import jax

  from asgl_jax import train

  config = importlib.import_module(f"experiments.configs.{name}").get_config()
  with config.unlocked():
    config.batch_size = batch_size or config.batch_size
    config.num_train_steps = 2
    config.analysis_examples = 0
    config.log_every = 1
    config.prefetch = 0  # batches read when the step asks: the timestamps below time the step
  dataset, shape = synthetic_dataset(config, config.batch_size)
  times = []

  class Timed(type(dataset)):
    def train_batch(self, **kw):
      times.append(time.perf_counter())
      return super().train_batch(**kw)

  timed = Timed(dataset.splits, num_classes=dataset.num_classes, name=dataset.name)
  t0 = time.perf_counter()
  with tempfile.TemporaryDirectory() as workdir:
    summary = train.train_and_evaluate(config, workdir, timed)
  total = time.perf_counter() - t0
  dev = jax.devices()[0]
  stats = dev.memory_stats() if dev.platform != "cpu" else None
  peak = (
    stats.get("peak_bytes_in_use")
    if stats
    else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
  )
  return {
    "config": name,
    "model": config.model.name,
    "batch_size": config.batch_size,
    "input_shape": list(shape),
    "time_steps": config.time_steps,
    "params": summary["num_params"],
    # times[1] - times[0]: the first step with its compilation (the second batch is read after
    # the first step was dispatched, so this is a lower bound); total includes evaluation.
    "first_step_s": times[1] - times[0],
    "total_s": total,
    "final_train_loss": summary["final_train_loss"],
    "peak_bytes": peak,
    "peak_kind": "device peak_bytes_in_use" if stats else "host max RSS",
    "backend": dev.platform,
  }


def compile_one(name: str, batch_size: int | None, dtype: str) -> dict:
  """The training step of config ``name`` at its batch, lowered and compiled alone for this
  backend in ``dtype``: compile time and XLA's ``memory_analysis()`` of the executable."""
  import jax
  import jax.numpy as jnp

  from asgl_jax import train
  from asgl_jax.train import builder
  from asgl_jax.train import step as step_lib

  config = importlib.import_module(f"experiments.configs.{name}").get_config()
  with config.unlocked():
    config.batch_size = batch_size or config.batch_size
    config.num_train_steps = 1
    config.dtype = dtype
  dataset, shape = synthetic_dataset(config, config.batch_size)
  run = builder.build_run(config, dataset)
  graphdef, params, stats = step_lib.split_model(run.model)
  state = step_lib.TrainState(jnp.int32(0), params, stats, run.tx.init(params))
  step = step_lib.make_train_step(
    graphdef,
    run.tx,
    run.loss_fn,
    metrics_fn=run.metrics_fn,
    target=run.target,
    fixed_p=run.fixed_p,
    compute_dtype=run.compute_dtype,
  )
  batch = dataset.train_batch(seed=0, epoch=0, index=0, batch_size=config.batch_size)
  t0 = time.perf_counter()
  lowered = jax.jit(step, donate_argnums=0, compiler_options=train.compiler_options()).lower(
    state, batch, jax.random.key(0), jnp.float32(0.8)
  )
  compiled = lowered.compile()
  seconds = time.perf_counter() - t0
  mem = compiled.memory_analysis()
  get = lambda k: int(getattr(mem, k, 0) or 0) if mem is not None else None  # noqa: E731
  return {
    "config": name,
    "dtype": dtype,
    "batch_size": config.batch_size,
    "input_shape": list(shape),
    "params": int(sum(x.size for x in jax.tree.leaves(params))),
    "compile_s": seconds,
    "argument_bytes": get("argument_size_in_bytes"),
    "output_bytes": get("output_size_in_bytes"),
    "temp_bytes": get("temp_size_in_bytes"),
    "alias_bytes": get("alias_size_in_bytes"),
    "backend": jax.devices()[0].platform,
  }


def main():
  ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
  ap.add_argument("--configs", default=",".join(CONFIGS))
  ap.add_argument("--batch_size", type=int, default=0, help="0: each config's own")
  ap.add_argument("--timeout", type=float, default=900, help="seconds per config")
  ap.add_argument("--json", default="")
  ap.add_argument(
    "--compile_only",
    default="",
    help="comma-separated dtypes (float32,bfloat16): compile each config's step alone and report\n"
    "compile time and memory_analysis() instead of training two steps",
  )
  ap.add_argument("--one", default="", help=argparse.SUPPRESS)
  args = ap.parse_args()
  if args.one:
    if args.compile_only:
      row = compile_one(args.one, args.batch_size or None, args.compile_only)
    else:
      row = run_one(args.one, args.batch_size or None)
    print("RESULT " + json.dumps(row), flush=True)
    return
  names = [n for n in args.configs.split(",") if n]
  unknown = sorted(set(names) - set(CONFIGS))
  if unknown:
    sys.exit(f"full_scale_smoke: unknown configs {unknown}; known: {', '.join(CONFIGS)}")
  if args.compile_only:
    return compile_table(args)
  rows = []
  env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
  print("| config | batch | input | params | first step (s) | total (s) | peak memory |")
  print("|---|---|---|---|---|---|---|")
  for name in names:
    row = _child(name, args, env)
    rows.append(row)
    if "error" in row:
      print(f"| {name} | failed: {row['error'].strip().splitlines()[-1]} |||||", flush=True)
      continue
    print(
      f"| {name} | {row['batch_size']} | {'×'.join(map(str, row['input_shape']))} | "
      f"{row['params'] / 1e6:.2f} M | {row['first_step_s']:.1f} | {row['total_s']:.1f} | "
      f"{row['peak_bytes'] / 2**30:.2f} GiB ({row['peak_kind']}) |",
      flush=True,
    )
  _finish(rows, args.json)


def _child(name: str, args, env, extra=()) -> dict:
  """One config in its own process (so each peak memory is its own): its RESULT row, or the
  error it ended with."""
  cmd = [sys.executable, __file__, "--one", name, "--batch_size", str(args.batch_size), *extra]
  try:
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout, env=env)
  except subprocess.TimeoutExpired:
    return {"config": name, "error": f"timed out after {args.timeout:.0f} s"}
  line = next((ln for ln in r.stdout.splitlines() if ln.startswith("RESULT ")), None)
  return json.loads(line[7:]) if line else {"config": name, "error": r.stderr[-1500:]}


def _finish(rows: list[dict], path: str) -> None:
  if path:
    with open(path, "w") as f:
      json.dump(rows, f, indent=2)
  if any("error" in r for r in rows):
    sys.exit(1)


def compile_table(args) -> None:
  names = [n for n in args.configs.split(",") if n]
  dtypes = [d for d in args.compile_only.split(",") if d]
  env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
  rows = []
  gib = lambda b: f"{b / 2**30:.2f}" if b is not None else "–"  # noqa: E731
  print(
    "| config | dtype | batch | params | compile (s) | arguments | outputs | temporaries (GiB) |"
  )
  print("|---|---|---|---|---|---|---|---|")
  for name in names:
    for dtype in dtypes:
      row = _child(name, args, env, ["--compile_only", dtype])
      rows.append(row)
      if "error" in row:
        print(f"| {name} | {dtype} | failed: {row['error'].strip().splitlines()[-1]} |||||")
        continue
      print(
        f"| {name} | {dtype} | {row['batch_size']} | {row['params'] / 1e6:.2f} M | "
        f"{row['compile_s']:.1f} | {gib(row['argument_bytes'])} | {gib(row['output_bytes'])} | "
        f"{gib(row['temp_bytes'])} |",
        flush=True,
      )
  _finish(rows, args.json)


if __name__ == "__main__":
  main()

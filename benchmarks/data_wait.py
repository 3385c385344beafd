"""How long a training step waits for its batch, with and without prefetching.

  python benchmarks/data_wait.py [--step_ms 25] [--steps 60] [--batch_size 128]
  python benchmarks/data_wait.py --step resnet18 --pipelines cifar10   # on an accelerator

The loop of :mod:`asgl_jax.train.loop` in miniature: batches from a real pipeline are read,
augmented and put on the device by ``asgl_jax.parallel.Prefetcher`` (``depth`` 0: when the
step asks; 2: on a background thread, two ahead), the step is dispatched asynchronously and the
previous step's result is read back, as the loop reads its metrics. The step is synthetic: a
jitted function whose host callback sleeps ``--step_ms`` (an accelerator step, which leaves the
host's cores to the pipeline), or with ``--step resnet18`` the real training step of workload D
(ResNet-18 at T = 2, asgl_jax's train step at p = 0.8; ``--dtype bfloat16`` for mixed
precision) on the batches the pipeline delivers. Reported per pipeline and depth: the median over ``--rounds`` of
the mean wait per step after the first ``--warmup`` steps and of the longest wait at an epoch's
first step (where the tfds pipeline starts its epoch), the pipeline's own rate, and one JSON
line each.

Pipelines: the bundled MNIST subset with its random translation (``mnist_subset``), and CIFAR-10
through the tfds pipeline on ``tfds.testing.mock_data`` with crop + flip + Cutout
(``cifar10_no_autoaugment``) and with AutoAugment too (``cifar10``).
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time

import harness
import jax
import jax.numpy as jnp
from flax import nnx

from asgl_jax import data, parallel


def synthetic_step(step_ms: float):
  def sleep(x):
    time.sleep(step_ms / 1e3)
    return x

  @jax.jit
  def step(acc, batch):
    acc = acc + jnp.mean(batch["image"].astype(jnp.float32))
    acc = jax.pure_callback(sleep, jax.ShapeDtypeStruct(acc.shape, acc.dtype), acc)
    return acc, acc

  return step


@functools.cache
def resnet18_step(dtype: str | None):
  """ResNet-18 (CIFAR-10, T = 2) trained by asgl_jax's step: ``(make_state, (state, batch) ->
  (state, loss))``, compiled once per process."""
  from asgl_jax import losses, models, optim, train

  model = models.resnet18(num_classes=10, time_steps=2, rngs=nnx.Rngs(0))
  graphdef, params, stats = train.split_model(model)
  tx = optim.make_optimizer(lr_schedule=0.1)
  fn = train.make_train_step(
    graphdef, tx, losses.cross_entropy, compute_dtype=None if dtype is None else jnp.dtype(dtype)
  )
  key, p = jax.random.key(0), jnp.float32(0.8)
  step = jax.jit(
    lambda s, b: (lambda out: (out[0], out[1]["loss"]))(fn(s, b, key, p)), donate_argnums=0
  )

  def make_state():
    fresh = jax.tree.map(jnp.copy, (params, stats))
    return train.TrainState(jnp.int32(0), *fresh, tx.init(fresh[0]))

  return make_state, step


def measure(
  dataset,
  *,
  depth: int,
  steps: int,
  warmup: int,
  batch_size: int,
  step_ms: float,
  step: str = "synthetic",
  dtype: str | None = None,
):
  mesh = parallel.make_mesh(1)
  if step == "synthetic":
    acc, step_fn = jnp.float32(0), synthetic_step(step_ms)
  else:
    make_state, step_fn = resnet18_step(dtype)
    acc = make_state()

  per_epoch = dataset.steps_per_epoch(batch_size)

  def device_batch(s):
    epoch, index = divmod(s, per_epoch)
    b = dataset.train_batch(seed=0, epoch=epoch, index=index, batch_size=batch_size)
    return parallel.shard_batch(b, mesh, batch_size)

  acc, out = step_fn(acc, device_batch(0))  # compile
  jax.block_until_ready(out)
  waits, t0 = [], None
  with parallel.Prefetcher(device_batch, start=0, stop=steps, depth=depth) as batches:
    pending = None
    for s in range(steps):
      if s == warmup:
        t0 = time.perf_counter()
      before = batches.waited
      acc, out = step_fn(acc, batches.get(s))
      waits.append(batches.waited - before)
      if pending is not None:
        jax.device_get(pending)  # the loop reads the previous step's metrics
      pending = out
    jax.device_get(pending)
  step_time = 1e3 * (time.perf_counter() - t0) / (steps - warmup)
  starts = [s for s in range(warmup, steps) if s % per_epoch == 0]
  mean = 1e3 * sum(waits[warmup:]) / (steps - warmup)
  stall = 1e3 * max((waits[s] for s in starts), default=float("nan"))
  return mean, stall, step_time


def pipeline_rate(dataset, batch_size: int, n: int = 10) -> float:
  dataset.train_batch(seed=1, epoch=0, index=0, batch_size=batch_size)
  t0 = time.perf_counter()
  for i in range(1, n + 1):
    dataset.train_batch(seed=1, epoch=0, index=i, batch_size=batch_size)
  return n * batch_size / (time.perf_counter() - t0)


PIPELINES = {  # name: dataset
  "mnist_subset": lambda: data.load("mnist_subset"),
  "cifar10_no_autoaugment": lambda: data.load("cifar10", validation_size=0, autoaugment=False),
  "cifar10": lambda: data.load("cifar10", validation_size=0),
}


def main() -> None:
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--step_ms", type=float, default=25.0)
  ap.add_argument("--steps", type=int, default=60)
  ap.add_argument("--warmup", type=int, default=5)
  ap.add_argument("--rounds", type=int, default=3)
  ap.add_argument("--batch_size", type=int, default=128)
  ap.add_argument("--epoch_steps", type=int, default=20, help="CIFAR mock epochs (steps)")
  ap.add_argument("--step", choices=("synthetic", "resnet18"), default="synthetic")
  ap.add_argument("--dtype", choices=("float32", "bfloat16"), default="float32")
  ap.add_argument("--pipelines", default=",".join(PIPELINES))
  ap.add_argument("--json", default="", help="also write the JSON lines here")
  args = ap.parse_args()
  if not 0 <= args.warmup < args.steps:
    ap.error("need 0 <= --warmup < --steps")
  names = [n for n in args.pipelines.split(",") if n]
  if not names or set(names) - set(PIPELINES):
    ap.error(f"--pipelines: choose from {', '.join(PIPELINES)}")
  dtype = None if args.dtype == "float32" else args.dtype
  step_name = f"{args.step_ms:g} ms step" if args.step == "synthetic" else f"{args.step} step"
  rows = []
  print(
    f"| pipeline | images/s alone | mean wait per {step_name}, depth 0 | depth 2 "
    "| wait at an epoch's first step, depth 0 | depth 2 | step with its data, depth 2 |"
  )
  print("|---|---|---|---|---|---|---|")
  import tensorflow_datasets as tfds

  for name in names:
    make = PIPELINES[name]
    # an epoch of --epoch_steps steps, so that the run crosses epoch boundaries
    with tfds.testing.mock_data(num_examples=args.batch_size * args.epoch_steps):
      dataset = make()
      rate = pipeline_rate(dataset, args.batch_size)
      waits, stalls = {}, {}
      for depth in (0, 2):
        runs = [
          measure(
            dataset,
            depth=depth,
            steps=args.steps,
            warmup=args.warmup,
            batch_size=args.batch_size,
            step_ms=args.step_ms,
            step=args.step,
            dtype=dtype,
          )
          for _ in range(args.rounds)
        ]
        waits[depth] = statistics.median(r[0] for r in runs)
        stalls[depth] = statistics.median(r[1] for r in runs)
        step_ms = statistics.median(r[2] for r in runs)
    print(
      f"| {name} | {rate:,.0f} | {waits[0]:.2f} ms | {waits[2]:.2f} ms "
      f"| {stalls[0]:.0f} ms | {stalls[2]:.0f} ms | {step_ms:.1f} ms |",
      flush=True,
    )
    rows.append(
      {
        "pipeline": name,
        "images_per_second": rate,
        "data_wait_ms": waits,
        "epoch_start_wait_ms": stalls,
        "step_with_data_ms": step_ms,
      }
    )
  extra = {"step": args.step, "step_ms": args.step_ms, "dtype": args.dtype}
  harness.print_json_lines([{**r, **extra, "batch_size": args.batch_size} for r in rows], args.json)


if __name__ == "__main__":
  main()

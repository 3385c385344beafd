"""How long a training step waits for its batch, with and without prefetching.

  python benchmarks/data_wait.py [--step_ms 25] [--steps 60] [--batch_size 128]

The loop of :mod:`asgl_jax.train.loop` in miniature: batches from a real pipeline are read,
augmented and put on the device by ``asgl_jax.parallel.Prefetcher`` (``depth`` 0: when the
step asks; 2: on a background thread, two ahead), the step is dispatched asynchronously and the
previous step's result is read back, as the loop reads its metrics. The step is synthetic: a
jitted function whose host callback sleeps ``--step_ms`` (an accelerator step, which leaves the
host's cores to the pipeline). Reported per pipeline and depth: the median over ``--rounds`` of
the mean wait per step after the first ``--warmup`` steps and of the longest wait at an epoch's
first step (where the tfds pipeline starts its epoch), the pipeline's own rate, and one JSON
line each.

Pipelines: the bundled MNIST subset with its random translation (``mnist_subset``), and CIFAR-10
through the tfds pipeline on ``tfds.testing.mock_data`` with crop + flip + Cutout
(``cifar10_no_autoaugment``) and with AutoAugment too (``cifar10``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import jax
import jax.numpy as jnp

from asgl_jax import data, parallel


def synthetic_step(step_ms: float):
  def sleep(x):
    time.sleep(step_ms / 1e3)
    return x

  @jax.jit
  def step(acc, batch):
    acc = acc + jnp.mean(batch["image"].astype(jnp.float32))
    return jax.pure_callback(sleep, jax.ShapeDtypeStruct(acc.shape, acc.dtype), acc)

  return step


def measure(dataset, *, depth: int, steps: int, warmup: int, batch_size: int, step_ms: float):
  mesh = parallel.make_mesh(1)
  step_fn = synthetic_step(step_ms)

  per_epoch = dataset.steps_per_epoch(batch_size)

  def device_batch(s):
    epoch, index = divmod(s, per_epoch)
    b = dataset.train_batch(seed=0, epoch=epoch, index=index, batch_size=batch_size)
    return parallel.shard_batch(b, mesh, batch_size)

  acc = jnp.float32(0)
  jax.block_until_ready(step_fn(acc, device_batch(0)))  # compile
  waits = []
  with parallel.Prefetcher(device_batch, start=0, stop=steps, depth=depth) as batches:
    pending = None
    for s in range(steps):
      before = batches.waited
      out = step_fn(acc, batches.get(s))
      waits.append(batches.waited - before)
      if pending is not None:
        jax.device_get(pending)  # the loop reads the previous step's metrics
      pending = out
    jax.device_get(pending)
  starts = [s for s in range(warmup, steps) if s % per_epoch == 0]
  mean = 1e3 * sum(waits[warmup:]) / (steps - warmup)
  stall = 1e3 * max((waits[s] for s in starts), default=float("nan"))
  return mean, stall


def pipeline_rate(dataset, batch_size: int, n: int = 10) -> float:
  dataset.train_batch(seed=1, epoch=0, index=0, batch_size=batch_size)
  t0 = time.perf_counter()
  for i in range(1, n + 1):
    dataset.train_batch(seed=1, epoch=0, index=i, batch_size=batch_size)
  return n * batch_size / (time.perf_counter() - t0)


PIPELINES = {
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
  args = ap.parse_args()
  if not 0 <= args.warmup < args.steps:
    ap.error("need 0 <= --warmup < --steps")
  rows = []
  print(
    f"| pipeline | images/s alone | mean wait per {args.step_ms:g} ms step, depth 0 | depth 2 "
    "| wait at an epoch's first step, depth 0 | depth 2 |"
  )
  print("|---|---|---|---|---|---|")
  import tensorflow_datasets as tfds

  for name, make in PIPELINES.items():
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
          )
          for _ in range(args.rounds)
        ]
        waits[depth] = statistics.median(r[0] for r in runs)
        stalls[depth] = statistics.median(r[1] for r in runs)
    print(
      f"| {name} | {rate:,.0f} | {waits[0]:.2f} ms | {waits[2]:.2f} ms "
      f"| {stalls[0]:.0f} ms | {stalls[2]:.0f} ms |",
      flush=True,
    )
    rows.append(
      {
        "pipeline": name,
        "images_per_second": rate,
        "data_wait_ms": waits,
        "epoch_start_wait_ms": stalls,
      }
    )
  for r in rows:
    print(json.dumps({**r, "step_ms": args.step_ms, "batch_size": args.batch_size}))


if __name__ == "__main__":
  main()

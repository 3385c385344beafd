"""XLA:CPU compile options for the training step, timed in one process.

    python benchmarks/xla_options.py [--workloads B,A64,A256,C] [--rounds 6] [--steps 3]

asgl_jax jits its training and evaluation steps with ``train.compiler_options()``: on CPU,
YNNPACK (which jaxlib 0.10's XLA:CPU gives single convolutions, single dots and reductions by
default) is kept for reductions only, so convolutions and dots run on XLA's own (Eigen)
kernels. This script times ``snn_training.py``'s ``ours`` step (p = 0.8) for each workload
compiled three ways:

- ``XLA defaults``: ``compiler_options=None``;
- ``asgl_jax``: ``train.compiler_options()``;
- ``no YNNPACK``: YNNPACK for nothing.

With ``--more``, four further variants add one XLA:CPU option each to ``train.compiler_options()``
(``MORE`` below: 512-bit vectors in XLA's own loops, the concurrency- and memory-optimised
schedulers, tiling propagation); none of them is in the library.

The variants are compiled in one process and timed in ``--rounds`` interleaved rounds of
``--steps`` steps (after one warm-up step per round), because separate processes on this
shared VM drift by more than some of the differences. The table gives the median and lower
quartile per variant and their ratio to XLA's defaults.
"""

from __future__ import annotations

import argparse
from types import SimpleNamespace

import harness
import jax
import snn_training

from asgl_jax import train

VARIANTS = {
  "XLA defaults": None,
  "asgl_jax": "library",
  "no YNNPACK": {"xla_cpu_experimental_ynn_fusion_type": ""},
}

# Per-compile XLA:CPU options of jaxlib 0.10 tried on top of the library's (``--more``).
MORE = {
  "asgl_jax + 512-bit vectors": {"xla_cpu_prefer_vector_width": "512"},
  "asgl_jax + concurrency scheduler": {
    "xla_cpu_scheduler_type": "CPU_SCHEDULER_TYPE_CONCURRENCY_OPTIMIZED"
  },
  "asgl_jax + memory scheduler": {"xla_cpu_scheduler_type": "CPU_SCHEDULER_TYPE_MEMORY_OPTIMIZED"},
  "asgl_jax + tiling propagation": {"xla_cpu_experimental_enable_tiling_propagation": True},
}


def main():
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--workloads", default="B,A64,A256,C")
  ap.add_argument("--rounds", type=int, default=6)
  ap.add_argument("--steps", type=int, default=3)
  ap.add_argument("--c-neurons", type=int, default=2048)
  ap.add_argument("--more", action="store_true", help="also time the MORE variants")
  args = ap.parse_args()
  if jax.default_backend() != "cpu":
    raise SystemExit("xla_options.py compares XLA:CPU options; run it on CPU")
  print(f"train.compiler_options() = {train.compiler_options()}")
  print("| workload | compiled with | median ms | lower-quartile ms | median vs defaults |")
  print("|---|---|---|---|---|")
  wargs = SimpleNamespace(c_neurons=args.c_neurons)
  variants = dict(VARIANTS)
  if args.more:
    variants.update({k: {**train.compiler_options(), **v} for k, v in MORE.items()})
  for workload in args.workloads.split(","):
    calls = {
      name: snn_training.run_ours(workload, wargs, 0.8, compiler_options=opts)
      for name, opts in variants.items()
    }
    # warmup=1: the first round's first call compiles; later rounds warm up once each.
    stats = harness.interleaved_times(calls, args.rounds, args.steps, warmup=1)
    base = stats["XLA defaults"][0]
    for name, (med, q1) in stats.items():
      print(f"| {workload} | {name} | {med * 1e3:.1f} | {q1 * 1e3:.1f} | {med / base:.3f}× |")


if __name__ == "__main__":
  main()

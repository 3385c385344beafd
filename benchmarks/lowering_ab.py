"""Two of the library's CPU lowering choices, each undone in turn, timed in one process.

    python benchmarks/lowering_ab.py [--workloads A64,A256,B] [--rounds 10] [--steps 4]

``ours`` of ``snn_training.py`` (ASGL, p = 0.8, learned width) as the library builds it, and
with one choice undone at a time:

- ``x = u / α``: the forwarding function computes ``x`` as a quotient, not as
  ``u · (1/α)`` (``asgl_jax.surrogate``; here the library's ``rect`` before the change,
  re-registered under another name);
- ``∂α by jnp.sum``: the parameter gradients summed over activation-sized tensors in the
  backward passes with ``jnp.sum``, not as a product with ones
  (``asgl_jax.cpu.param_grad_sum``, monkeypatched while the step is traced);

plus plain SG (p = 1, fixed width: neither choice applies). All variants are compiled first,
then timed in interleaved rounds; the ratio column is the median (and interquartile range) of
the per-round ratios to the library's step.
"""

from __future__ import annotations

import argparse

import harness
import jax.numpy as jnp
import snn_training

from asgl_jax import cpu, surrogate
from asgl_jax.cpu import reductions


def _rect_quotient(u, alpha):
  return jnp.clip(u / alpha + 0.5, 0.0, 1.0)


def _rect_quotient_grad(u, alpha):
  x = u / alpha
  inside = jnp.abs(x) < 0.5
  return jnp.where(inside, 1.0 / alpha, 0.0), jnp.where(inside, -x / alpha, 0.0)


def make_call(workload: str, sur: str, p: float):
  """``snn_training.run_ours`` with forwarding function ``sur``, traced and compiled now (with
  the library as it is at this moment)."""
  call = snn_training.run_ours(workload, argparse.Namespace(c_neurons=0), p, surrogate=sur)
  call()
  return call


def main():
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--workloads", default="A64,A256,B")
  ap.add_argument("--rounds", type=int, default=10)
  ap.add_argument("--steps", type=int, default=4)
  args = ap.parse_args()
  surrogate.register_surrogate("rect_quotient", _rect_quotient, _rect_quotient_grad, overwrite=True)
  print("| workload | variant | median ms | lower-quartile ms | vs library (per round) | IQR |")
  print("|---|---|---|---|---|---|")
  for wl in args.workloads.split(","):
    calls = {"library": make_call(wl, "rect", 0.8)}
    calls["x = u / α"] = make_call(wl, "rect_quotient", 0.8)
    library_sum = cpu.param_grad_sum
    cpu.param_grad_sum = reductions.sum_to_shape
    try:
      calls["∂α by jnp.sum"] = make_call(wl, "rect", 0.8)
    finally:
      cpu.param_grad_sum = library_sum
    calls["plain SG"] = make_call(wl, "rect", 1.0)
    samples = harness.interleaved_samples(calls, args.rounds, args.steps, warmup=1)
    for row in harness.paired_table(samples, "library"):
      print(f"| {wl} | {row}", flush=True)


if __name__ == "__main__":
  main()

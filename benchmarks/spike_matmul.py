"""``asgl_jax.spike_matmul`` (event-driven on CPU) against XLA's dense matmul, by spike density.

    python benchmarks/spike_matmul.py [--repeats 10] [--densities 0.005,0.02,0.1,0.3]

For spikes ``s`` ``[T·B, F]`` and weights ``w`` ``[F, H]``, each row times the value and the
weight gradient of ``sum(g · (s @ w))`` (the input projection of a spiking layer, forward
and ``sᵀ g``), jitted, median of ``--repeats`` calls after one warm-up:

- ``dense f32``: ``s`` stored as float32 (what a float pipeline feeds), XLA's matmul;
- ``dense bool``: ``s`` stored as bool and cast inside the jitted function;
- ``spike_matmul``: ``s`` as bool, ``asgl_jax.spike_matmul``.

Shapes: the SHD input layer at B = 256 (``[64000, 700] @ [700, 240]``) and workload C's
dense layer on this CPU (``[8000, 2048] @ [2048, 2048]``).
"""

from __future__ import annotations

import argparse
import platform

import harness
import jax
import jax.numpy as jnp
import numpy as np

import asgl_jax

SHAPES = {"SHD input, B=256": (64000, 700, 240), "C dense, N=2048": (8000, 2048, 2048)}


def main():
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--repeats", type=int, default=10)
  ap.add_argument("--densities", default="0.005,0.02,0.1,0.3")
  args = ap.parse_args()
  densities = [float(d) for d in args.densities.split(",")]
  print(
    f"# jax {jax.__version__}, {jax.devices()[0].device_kind}, "
    f"{platform.processor() or platform.machine()}"
  )
  print("| shape | density | dense f32 ms | dense bool ms | spike_matmul ms | dense f32 / ours |")
  print("|---|---|---|---|---|---|")
  rng = np.random.default_rng(0)
  for name, (n, f, h) in SHAPES.items():
    w = jnp.asarray(rng.normal(size=(f, h)), jnp.float32)
    g = jnp.asarray(rng.normal(size=(n, h)), jnp.float32)

    def loss_dense(w, s, g):
      return jnp.sum(g * (s.astype(jnp.float32) @ w))

    def loss_ours(w, s, g):
      return jnp.sum(g * asgl_jax.spike_matmul(s, w))

    dense = jax.jit(jax.value_and_grad(loss_dense))
    ours = jax.jit(jax.value_and_grad(loss_ours))
    for d in densities:
      s = jnp.asarray(rng.random((n, f)) < d)
      t_f32 = harness.median_time(dense, (w, s.astype(jnp.float32), g), args.repeats)
      t_bool = harness.median_time(dense, (w, s, g), args.repeats)
      t_ours = harness.median_time(ours, (w, s, g), args.repeats)
      print(
        f"| {name} | {d:g} | {t_f32 * 1e3:.1f} | {t_bool * 1e3:.1f} | {t_ours * 1e3:.1f} "
        f"| {t_f32 / t_ours:.2f}× |"
      )


if __name__ == "__main__":
  main()

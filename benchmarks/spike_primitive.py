"""Cost of ``asgl_jax.spike`` forward+backward against the plain stop-gradient formulation.

    python benchmarks/spike_primitive.py [--n 10000000] [--repeats 20]

All compute the value and the gradients w.r.t. ``u`` and ``alpha`` of
``sum(w · s)`` with ``s`` the ASGL spike at p = 0.8:

- ours:  ``asgl_jax.spike`` (custom_vjp, residuals u and alpha, H' recomputed; the mask from
  ``asgl_jax.sample_mask``'s counter-based hash);
- plain (hash mask): ``H + m·stop_gradient(Θ(u) − H)`` differentiated by JAX autodiff, with
  the same mask as ours;
- plain (threefry mask): the same with ``jax.random.bernoulli`` (what a straightforward
  implementation, and asgl_jax before the hash, draws).

Time: median of ``--repeats`` jitted calls after one warm-up (compile excluded).
Memory: XLA's own accounting of the compiled function (temporary buffers and
the total of arguments, outputs and temporaries), which is deterministic.
"""

from __future__ import annotations

import argparse
import platform

import harness
import jax
import jax.numpy as jnp

import asgl_jax

H = {
  "rect": lambda u, a: jnp.clip(u / a + 0.5, 0.0, 1.0),
  "sigmoid": lambda u, a: jax.nn.sigmoid(u / a),
}


def make(kind: str, surrogate: str, key, p: float):
  def ours(u, a, w):
    return jnp.sum(w * asgl_jax.spike(u, a, key=key, p=p, surrogate=surrogate))

  def plain(u, a, w):
    if kind.endswith("(threefry mask)"):
      m = jax.random.bernoulli(key, p, u.shape)
    else:
      m = asgl_jax.sample_mask(key, p, u.shape)
    h = H[surrogate](u, a)
    s = h + m * jax.lax.stop_gradient((u >= 0).astype(u.dtype) - h)
    return jnp.sum(w * s)

  f = ours if kind == "asgl_jax.spike" else plain
  return jax.jit(jax.value_and_grad(f, argnums=(0, 1)))


def main():
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--n", type=int, default=10_000_000)
  ap.add_argument("--repeats", type=int, default=20)
  args = ap.parse_args()
  ku, kw, km = jax.random.split(jax.random.key(0), 3)
  u = jax.random.normal(ku, (args.n,))
  w = jax.random.normal(kw, (args.n,))
  alpha = jnp.float32(1.0)
  print(
    f"# jax {jax.__version__}, {jax.devices()[0].device_kind}, {platform.processor() or platform.machine()}, n = {args.n:,}"
  )
  print("| surrogate | implementation | median ms | ns / element | temp MiB | total MiB |")
  print("|---|---|---|---|---|---|")
  for sur in ("rect", "sigmoid"):
    rows = {}
    for kind in ("plain (threefry mask)", "plain (hash mask)", "asgl_jax.spike"):
      fn = make(kind, sur, km, 0.8)
      mem = fn.lower(u, alpha, w).compile().memory_analysis()
      t = harness.median_time(fn, (u, alpha, w), args.repeats)
      temp = mem.temp_size_in_bytes / 2**20
      total = (
        mem.temp_size_in_bytes + mem.argument_size_in_bytes + mem.output_size_in_bytes
      ) / 2**20
      rows[kind] = (t, temp)
      print(
        f"| {sur} | {kind} | {t * 1e3:.1f} | {t / args.n * 1e9:.2f} | {temp:.1f} | {total:.1f} |"
      )
    t1, m1 = rows["asgl_jax.spike"]
    for ref in ("plain (hash mask)", "plain (threefry mask)"):
      t0, m0 = rows[ref]
      print(f"| {sur} | ours / {ref} | {t1 / t0:.2f}× | | {m1 / max(m0, 1e-9):.2f}× | |")


if __name__ == "__main__":
  main()

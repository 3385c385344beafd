"""Memory and time of a recurrent-SNN training step: fused scan, autodiff scan, and autodiff + ``jax.checkpoint``.

    python benchmarks/scan_memory.py [--time-steps 250] [--batch 256] [--repeats 5]

The SHD network (700-240(recurrent LIF)-20, T = 250) on Bernoulli(0.02) input
spikes, one full training step (forward, BPTT, SGD update) with the ASGL spike
at p = 0.8. ``remat=True`` wraps the neuron step in ``jax.checkpoint``: the scan
then stores only the carry per step and recomputes the step in the backward
pass. Every step is compiled as training compiles it (``train.compiler_options()``).
Memory is XLA's accounting of the compiled step (temporaries, and the total with
arguments and outputs); time is the median and lower quartile of ``--rounds`` ×
``--repeats`` calls, the variants interleaved round by round (``harness.interleaved_times``).
"""

from __future__ import annotations

import argparse

import harness
import jax
import jax.numpy as jnp
import optax
from flax import nnx

from asgl_jax import losses, models, train


def make_step(variant: str, t: int):
  model = models.SpikingRNN(
    700, 240, num_classes=20, time_steps=t, rngs=nnx.Rngs(0), neuron={"remat": variant == "remat"}
  )
  if variant == "autodiff":
    model.recurrent.fused = False
  graphdef, params, stats = train.split_model(model)
  tx = optax.sgd(0.1)

  def step(params, opt_state, x, y, key):
    def loss_fn(params):
      out = train.merge_model(graphdef, params, stats)(x, key=key, p=0.8, train=True)
      return losses.cross_entropy(out, y)

    loss, grads = jax.value_and_grad(loss_fn)(params)
    upd, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, upd), opt_state, loss

  return jax.jit(step, compiler_options=train.compiler_options()), params, tx.init(params)


def main():
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--time-steps", type=int, default=250)
  ap.add_argument("--batch", type=int, default=256)
  ap.add_argument("--repeats", type=int, default=3, help="timed steps per round")
  ap.add_argument("--rounds", type=int, default=4)
  args = ap.parse_args()
  t, b = args.time_steps, args.batch
  x = (jax.random.uniform(jax.random.key(0), (t, b, 700)) < 0.02).astype(jnp.float32)
  y = jax.random.randint(jax.random.key(1), (b,), 0, 20)
  key = jax.random.key(2)
  print(f"# jax {jax.__version__}, {jax.devices()[0].device_kind}; SHD network, T = {t}, B = {b}")
  mems, calls = {}, {}
  for variant in ("fused", "autodiff", "remat"):
    step, params, opt_state = make_step(variant, t)
    mems[variant] = step.lower(params, opt_state, x, y, key).compile().memory_analysis()
    args_v = (params, opt_state, x, y, key)
    calls[variant] = lambda step=step, a=args_v: jax.block_until_ready(step(*a))
  times = harness.interleaved_times(calls, args.rounds, args.repeats, warmup=1)
  print("| neuron scan | temp MiB | total MiB | median ms / step | lower-quartile ms |")
  print("|---|---|---|---|---|")
  for variant, mem in mems.items():
    temp = mem.temp_size_in_bytes / 2**20
    total = (mem.temp_size_in_bytes + mem.argument_size_in_bytes + mem.output_size_in_bytes) / 2**20
    med, q1 = times[variant]
    print(f"| {variant} | {temp:.1f} | {total:.1f} | {1e3 * med:.0f} | {1e3 * q1:.0f} |")


if __name__ == "__main__":
  main()

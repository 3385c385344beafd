"""What the ASGL mask and the learned width cost in one training step, measured in one process.

    python benchmarks/mask_cost.py [--batch 64,256] [--rounds 16] [--steps 3]

Workload A of ``snn_training.py`` (700-240 recurrent LIF-20, T = 250, Bernoulli(0.02) spikes
as bool, asgl_jax's ``SpikingRNN`` and ``train.make_train_step``) in four variants:

- ``ASGL``: p = 0.8 (the mask), learned width α (what ``snn_training.py`` calls ``ours``);
- ``mask, fixed α``: p = 0.8, α not learned;
- ``no mask, learned α``: p = 1, α learned;
- ``plain SG``: p = 1, α fixed (``ours_sg``).

The differences are a few percent, the size of this shared VM's drift between separate
processes, so here all four step functions are compiled in one process and timed in
``--rounds`` interleaved rounds of ``--steps`` steps each (after one warm-up step per round).
The table gives the median and the lower quartile of all timed steps per variant, and the
ratio to plain SG as the median (and interquartile range) of the per-round ratios: a round's
variants run back to back, so the VM's drift between rounds cancels in them.
"""

from __future__ import annotations

import argparse

import harness
import jax
from flax import nnx

from asgl_jax import losses, models

VARIANTS = {
  "ASGL": (0.8, True),
  "mask, fixed α": (0.8, False),
  "no mask, learned α": (1.0, True),
  "plain SG": (1.0, False),
}


def make_call(p: float, learn_alpha: bool, batch, key):
  """One blocking training step per call, carrying its own state."""
  neuron = {
    "decay": 0.5,
    "threshold": 1.0,
    "alpha": 1.0,
    "surrogate": "rect",
    "learn_alpha": learn_alpha,
  }
  model = models.SpikingRNN(
    700, 240, num_classes=20, time_steps=250, rngs=nnx.Rngs(0), neuron=neuron, batch_major=True
  )
  return harness.asgl_step_call(model, losses.cross_entropy, p, batch, key)


def main():
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--batch", default="64,256")
  ap.add_argument("--rounds", type=int, default=16)
  ap.add_argument("--steps", type=int, default=3)
  args = ap.parse_args()
  print("| B | variant | median ms | lower-quartile ms | vs plain SG (per-round median) | IQR |")
  print("|---|---|---|---|---|---|")
  for b in (int(x) for x in args.batch.split(",")):
    k1, k2, key = jax.random.split(jax.random.key(0), 3)
    batch = {
      "image": jax.random.uniform(k1, (b, 250, 700)) < 0.02,
      "label": jax.random.randint(k2, (b,), 0, 20),
    }
    calls = {name: make_call(*v, batch, key) for name, v in VARIANTS.items()}
    samples = harness.interleaved_samples(calls, args.rounds, args.steps, warmup=1)
    for row in harness.paired_table(samples, "plain SG"):
      print(f"| {b} | {row}", flush=True)


if __name__ == "__main__":
  main()

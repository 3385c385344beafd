"""CPU-scale width-robustness ablation (paper Table 2) on the bundled MNIST subset.

Command (offline, the 2-core CPU machine):
  python -m experiments.ablate_width --config=experiments/configs/ablate_width_mnist.py
Trains SG and ASGL from the same seed and initialisation for each initial width
and writes ablation.json / ablation.md / ablation.png. The measured table is in
docs/ablations.md.
"""

import ml_collections

from asgl_jax.configs import mnist


def get_config():
  c = mnist.get_config()
  c.num_epochs = 3
  # Three epochs are ~190 steps: the widths need a large lr to adapt from α₀ = 10 in time
  # (the paper's 3e-4 is for 300 epochs). SG freezes them, so this changes only ASGL.
  c.spiking_lr = 0.1
  c.analysis_examples = 0
  c.ablation = ml_collections.ConfigDict(
    {"methods": ("sg", "asgl"), "widths": (0.5, 1.0, 2.5, 5.0, 10.0)}
  )
  return c

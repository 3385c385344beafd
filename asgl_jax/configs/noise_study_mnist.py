"""Noise-probability study at CPU scale (paper §5.4, Fig. 3a–c) on the bundled MNIST subset.

Command (offline, the 2-core CPU machine):
  python -m experiments.noise_study --config=experiments/configs/noise_study_mnist.py
Runs: fixed p ∈ {0, 0.2, 0.5, 0.8, 1} (p = 1 with learned widths; p = 0 is the analog
network) and p raised from 0.2 by ζ = 0.5 at every epoch (0.2, 0.6, 0.8, 0.9, 0.95).
Measured table: docs/ablations.md.
"""

import ml_collections

from asgl_jax.configs import mnist


def get_config():
  c = mnist.get_config()
  c.num_epochs = 5
  c.analysis_examples = 0
  c.study = ml_collections.ConfigDict(
    {
      "fixed_p": (0.0, 0.2, 0.5, 0.8, 1.0),
      "schedule": ml_collections.ConfigDict({"p0": 0.2, "zeta": 0.5, "milestones": (1, 2, 3, 4)}),
    }
  )
  return c

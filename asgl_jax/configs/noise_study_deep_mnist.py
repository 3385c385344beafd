"""Noise-probability study on a deep spiking MLP (paper §5.4, Fig. 3b–c) at CPU scale.

Command (offline, the 2-core CPU machine):
  python -m experiments.noise_study --config=experiments/configs/noise_study_deep_mnist.py
The network and training of the CPU-scale Table 2 (ablate_width_mnist.py: an 8-layer spiking MLP
784-(128 × 8)-10, T = 2, rect H, threshold 0.25, Adam 1e-3, 15 epochs), started from a wide
initial width α₀ = 5, where plain SG collapses: fixed p ∈ {0, 0.2, 0.5, 0.8, 1} (widths learned
in every run) and p raised from 0.2 by ζ = 0.5 at epochs 3, 6, 9 and 12. Measured table:
docs/ablations.md.
"""

import ml_collections

from asgl_jax.configs import ablate_width_mnist


def get_config():
  c = ablate_width_mnist.get_config()
  del c["ablation"]
  c.neuron.alpha = 5.0
  c.study = ml_collections.ConfigDict(
    {
      "fixed_p": (0.0, 0.2, 0.5, 0.8, 1.0),
      "schedule": ml_collections.ConfigDict({"p0": 0.2, "zeta": 0.5, "milestones": (3, 6, 9, 12)}),
    }
  )
  return c

"""CPU-scale width-robustness ablation (paper Table 2) on the bundled MNIST subset.

Command (offline, the 2-core CPU machine, about 2–3 minutes for the ten runs):
  python -m experiments.ablate_width --config=experiments/configs/ablate_width_mnist.py
Trains SG and ASGL from the same seed and initialisation for each initial width and writes
ablation.json / ablation.md / ablation.png; the measured table is in docs/ablations.md.

The network is deep on purpose: Table 2's effect (SG collapses at wide widths, ASGL does not)
shows in deep networks (the paper's ResNets); the two-layer MNIST CNN barely shows it. Here: an
8-layer spiking MLP 784-(128 × 8)-10, T = 2, rect H, threshold 0.25 (at threshold 1 neither
method learned at all: with LeCun-initialised weights and no BN little activity reaches the deep
layers), Adam
1e-3, 15 epochs (930 steps); ASGL with p = 0.8 and width lr 0.1 (the paper's 3e-4 is for
hundreds of epochs; SG freezes the widths, so this changes only ASGL).
"""

import ml_collections

from asgl_jax.configs import mnist


def get_config():
  c = mnist.get_config()
  c.model.name = "mlp"
  c.model.kwargs = ml_collections.ConfigDict({"in_features": 784, "hidden": (128,) * 8})
  c.neuron.threshold = 0.25
  c.optimizer = "adam"
  c.learning_rate = 1e-3
  c.weight_decay = 0.0
  c.num_epochs = 15
  c.spiking_lr = 0.1
  c.analysis_examples = 0
  c.ablation = ml_collections.ConfigDict(
    {"methods": ("sg", "asgl"), "widths": (0.5, 1.0, 2.5, 5.0, 10.0)}
  )
  return c

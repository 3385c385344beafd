"""Width-robustness ablation (paper Table 2): ResNet-18 on CIFAR-100, T = 3, sigmoid H, SG vs ASGL.

Command:
  python -m experiments.ablate_width --config=experiments/configs/cifar100_resnet18_t3_width.py
  (one width/method: python -m experiments.cifar --config=... --config.neuron.alpha=W --config.method=sg)
Paper (embedded SNN, test), Table 2, widths 0.5 / 1 / 2.5 / 5 / 10:
  SG 75.76 / 65.19 / 15.12 / 8.04 / 6.14;  ASGL 76.54 / 76.09 / 76.18 / 76.68 / 76.00.
Settings (§5.4, App. B.1): SGD with weight decay 5e-4, 300 epochs, p = 0.8 and ζ = 1 for ASGL.
Hardware: a GPU or TPU; ten runs of 300 epochs over 45,000 training images (not yet timed by this
project). Far too slow for a 2-core CPU.
"""

import ml_collections

from experiments.configs import cifar_base


def get_config():
  c = cifar_base.make(dataset="cifar100", model="resnet18", time_steps=3, num_epochs=300)
  c.noise.p0, c.noise.zeta, c.noise.milestones = 0.8, 1.0, ()
  c.optimizer, c.learning_rate = "sgd", 0.1
  c.ablation = ml_collections.ConfigDict(
    {"methods": ("sg", "asgl"), "widths": (0.5, 1.0, 2.5, 5.0, 10.0)}
  )
  return c

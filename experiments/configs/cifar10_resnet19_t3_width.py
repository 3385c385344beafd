"""Width-robustness ablation (paper Table 2): ResNet-19 on CIFAR-10, T = 3, rect H, SG vs ASGL.

Command:
  python -m experiments.ablate_width --config=experiments/configs/cifar10_resnet19_t3_width.py
  (one width/method: python -m experiments.cifar --config=... --config.neuron.alpha=W --config.method=sg)
Paper (embedded SNN, test), Table 2, widths 0.5 / 1 / 2.5 / 5 / 10:
  SG 93.19 / 93.78 / 90.68 / 62.34 / 30.85;  ASGL 94.11 / 94.30 / 94.09 / 93.61 / 93.53.
ASGL column: the best of ζ ∈ {0.2, 0.5, 0.8} per width, as Table 12 gives it; ASGL trains once
per ζ. The paper gives no milestones for these 100-epoch runs; we use Table 7's 100-epoch
milestones (30, 70, 90, 95; p0 = 0.8), so ζ acts (a constant p would make ζ irrelevant).
Hardware: a GPU or TPU; twenty runs of 100 epochs over 45,000 training images (not yet timed by this
project). Far too slow for a 2-core CPU.
"""

import ml_collections

from experiments.configs import cifar_base


def get_config():
  c = cifar_base.make(dataset="cifar10", model="resnet19", time_steps=3, num_epochs=100)
  c.noise.milestones = (30, 70, 90, 95)
  c.ablation = ml_collections.ConfigDict(
    {"methods": ("sg", "asgl"), "widths": (0.5, 1.0, 2.5, 5.0, 10.0), "zetas": (0.2, 0.5, 0.8)}
  )
  return c

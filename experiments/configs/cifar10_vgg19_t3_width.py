"""Width ablation with VGG-19 (paper Table 11): CIFAR-10, rect H, SG vs ASGL over initial widths.

Command:
  python -m experiments.ablate_width --config=experiments/configs/cifar10_vgg19_t3_width.py
Paper (embedded SNN, test), Table 11, SG at widths 0.5 / 1 / 2.5 / 5 / 7.5 / 10:
  10.00 / 10.00 / 87.64 / 81.89 / 66.00 / 53.65;  ASGL with ζ = 0.2 / 0.5 / 0.8: 89.62 / 89.69 /
  88.83 (the paper's table gives these without their width). Its "ASGL+SG" rows (p = 0.5 at
  widths 1 / 2.5 / 5) are not configured here.
The paper gives neither T nor the epochs of this ablation: T = 3 and 100 epochs with Table 7's
100-epoch milestones (30, 70, 90, 95; p0 = 0.8), as the ResNet-19 ablation of Table 2
(cifar10_resnet19_t3_width.py); the rest is the CIFAR-10 setting (cifar_base.py).
Hardware: a GPU or TPU; 6 SG and 18 ASGL runs of 100 epochs (not yet timed by this project).
"""

import ml_collections

from experiments.configs import cifar_base


def get_config():
  c = cifar_base.make(dataset="cifar10", model="vgg19", time_steps=3, num_epochs=100)
  c.noise.milestones = (30, 70, 90, 95)
  c.ablation = ml_collections.ConfigDict(
    {
      "methods": ("sg", "asgl"),
      "widths": (0.5, 1.0, 2.5, 5.0, 7.5, 10.0),
      "zetas": (0.2, 0.5, 0.8),
    }
  )
  return c

"""Tiny-ImageNet, VGG-13, T = 4 (paper Table 5).

Command:
  python -m experiments.cifar --config=experiments/configs/tinyimagenet_vgg13_t4.py [--workdir=runs/tinyimagenet_vgg13_t4]
Paper (embedded SNN, test): 56.57 % (Table 5)
Settings: tanh H, initial width 2.5, decay 0.5 (§5.2); p = 0.9 (Table 7). The network
(asgl_jax.models.vgg13): ten conv-BN-LIF layers and a linear readout, our reading of the
paper's "VGG-13" (it gives no layer list; see the model's docstring).
Hardware: one or more GPUs/TPU cores; Tiny-ImageNet is downloaded by the asgl_jax tfds builder (about 250 MB).
"""

from experiments.configs import cifar_base


def get_config():
  return cifar_base.make(dataset="tiny_imagenet", model="vgg13", time_steps=4)

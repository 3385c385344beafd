"""Tiny-ImageNet, VGG-13, T = 8 (paper Table 5).

Command:
  python -m experiments.cifar --config=experiments/configs/tinyimagenet_vgg13_t8.py [--workdir=runs/tinyimagenet_vgg13_t8]
Paper (embedded SNN, test): 56.81 % (Table 5)
Hardware: one or more GPUs/TPU cores; Tiny-ImageNet is downloaded by the asgl_jax tfds builder (about 250 MB).
"""

from experiments.configs import cifar_base


def get_config():
  return cifar_base.make(dataset="tiny_imagenet", model="vgg13", time_steps=8)

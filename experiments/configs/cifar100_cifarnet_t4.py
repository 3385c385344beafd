"""CIFAR-100, CifarNet, T = 4 (paper Table 5).

Command:
  python -m experiments.cifar --config=experiments/configs/cifar100_cifarnet_t4.py [--workdir=runs/cifar100_cifarnet_t4]
Paper (embedded SNN, test): 74.59 % (Table 5)
Hardware: a GPU or TPU (300 epochs over 45,000 training images; not yet timed by this project). Far too slow for a 2-core CPU.
"""

from experiments.configs import cifar_base


def get_config():
  return cifar_base.make(dataset="cifar100", model="cifarnet", time_steps=4)

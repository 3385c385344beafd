"""CIFAR-10, CifarNet, T = 2 (paper Table 5).

Command:
  python -m experiments.cifar --config=experiments/configs/cifar10_cifarnet_t2.py [--workdir=runs/cifar10_cifarnet_t2]
Paper (embedded SNN, test): 93.80 % (Table 5)
Hardware: a GPU or TPU (300 epochs over 45,000 training images; not yet timed by this project). Far too slow for a 2-core CPU.
"""

from experiments.configs import cifar_base


def get_config():
  return cifar_base.make(dataset="cifar10", model="cifarnet", time_steps=2)

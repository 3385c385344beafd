"""CIFAR-100, ResNet-18, T = 2 (paper Table 5).

Command:
  python -m experiments.cifar --config=experiments/configs/cifar100_resnet18_t2.py [--workdir=runs/cifar100_resnet18_t2]
Paper (embedded SNN, test): 76.59 % (Table 5); the released run (--config.noise.p0=0.8 --config.noise.zeta=1.0 --config.optimizer=sgd --config.learning_rate=0.1) reports 76.76 %
Hardware: a GPU or TPU (300 epochs over 45,000 training images; not yet timed by this project). Far too slow for a 2-core CPU.
"""

from experiments.configs import cifar_base


def get_config():
  return cifar_base.make(dataset="cifar100", model="resnet18", time_steps=2)

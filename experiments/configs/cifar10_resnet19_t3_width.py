"""Width-robustness ablation (paper Table 2): ResNet-19 on CIFAR-10, T = 3, rect forwarding function.

Command:
  python -m experiments.cifar --config=experiments/configs/cifar10_resnet19_t3_width.py [--workdir=runs/cifar10_resnet19_t3_width]
Paper (embedded SNN, test): Table 2: ASGL ≈ 94 % for every initial width; SG falls from 93.8 % (width 1) to 30.9 % (width 10). Sweep with --config.neuron.alpha=W and --config.method=sg|asgl
Hardware: a GPU or TPU (300 epochs over 45,000 training images; not yet timed by this project). Far too slow for a 2-core CPU.
"""

from experiments.configs import cifar_base


def get_config():
  return cifar_base.make(dataset="cifar10", model="resnet19", time_steps=3)

"""Width-robustness ablation (paper Table 2): ResNet-18 on CIFAR-100, T = 3, sigmoid forwarding function.

Command:
  python -m experiments.cifar --config=experiments/configs/cifar100_resnet18_t3_width.py [--workdir=runs/cifar100_resnet18_t3_width]
Paper (embedded SNN, test): Table 2: ASGL ≈ 76 % for every initial width; SG falls from ≈ 76 % to ≈ 6 % at width 10. Sweep with --config.neuron.alpha=W and --config.method=sg|asgl
Hardware: a GPU or TPU (300 epochs over 45,000 training images; not yet timed by this project). Far too slow for a 2-core CPU.
"""

from experiments.configs import cifar_base


def get_config():
  return cifar_base.make(dataset="cifar100", model="resnet18", time_steps=3)

"""Event-camera classification (paper §5.3 / App. B.4).

python -m experiments.dvs_cifar10 --config=experiments/configs/dvs_cifar10.py --config.dataset.data_dir=DIR
"""

from experiments import common
from experiments.shd import main

if __name__ == "__main__":
  common.run_app(main, "experiments.dvs_cifar10")

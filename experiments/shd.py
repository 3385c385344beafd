"""Spike-train classification with the recurrent SNN: SHD (paper §5.3) and the offline Randman task.

python -m experiments.shd --config=experiments/configs/shd.py [--config.dataset.data_dir=...]
python -m experiments.shd --config=experiments/configs/randman.py      # offline
"""

from absl import flags

from experiments import common

_CONFIG = common.define_config()
_WORKDIR = flags.DEFINE_string(
  "workdir", None, "Output directory (default: runs/<dataset>-<time>)."
)


def main(argv):
  del argv
  common.train_main(_CONFIG.value, _WORKDIR.value, common.prog())


if __name__ == "__main__":
  common.run_app(main, "experiments.shd")

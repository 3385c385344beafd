"""Width-robustness ablation (paper Table 2, 11, 12, 14): SG vs ASGL for each initial width.

  python -m experiments.ablate_width --config=experiments/configs/ablate_width_mnist.py [--workdir=...]

Trains every (method, initial width) pair of ``config.ablation`` from the same
seed and initialisation, each in ``<workdir>/<method>_w<width>`` (a finished
pair is not rerun, so the command resumes), then writes ``ablation.json`` (a list
of ``{method, width, test_snn_accuracy}``), ``ablation.md`` (a table) and
``ablation.png`` (accuracy against width) to the workdir. With ``config.ablation.zetas``
ASGL trains once per noise rate ζ, and the table adds a per-ζ row each and the best over ζ
(Table 12's protocol for Table 2's CIFAR-10 column).
"""

from absl import flags

from asgl_jax import parallel
from asgl_jax.train import sweeps
from experiments import common

_CONFIG = common.define_config()
_WORKDIR = flags.DEFINE_string(
  "workdir", None, "Output directory (default: runs/ablate_width-<time>)."
)


def main(argv):
  del argv
  config = _CONFIG.value
  common.setup(config)
  workdir = common.sweep_workdir(_WORKDIR.value, "ablate_width")
  records = sweeps.run_ablation(
    config,
    workdir,
    common.load_dataset(config),
    methods=config.ablation.methods,
    widths=config.ablation.widths,
    zetas=config.ablation.get("zetas", ()),
  )
  if parallel.is_writer():
    print(sweeps.write_ablation_report(records, workdir))


if __name__ == "__main__":
  common.run_app(main, "experiments.ablate_width")

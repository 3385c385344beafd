"""Noise-probability study (paper §5.4, Fig. 3a–c): fixed p against p raised during training.

  python -m experiments.noise_study --config=experiments/configs/noise_study_mnist.py [--workdir=...]

Trains one run per fixed spike-mode probability in ``config.study.fixed_p`` and
one with p raised at milestones (``config.study.schedule``: p ← 1 − (1 − p)·ζ),
same seed and initialisation, each in its own sub-directory (finished runs are
not rerun). Writes ``noise_study.json`` (final accuracies and per-epoch
curves), ``noise_study.md`` and ``noise_study.png`` (validation accuracy of the
embedded SNN and of the noisy network per epoch, and p) to the workdir.
"""

from absl import flags

from asgl_jax import parallel
from asgl_jax.train import sweeps
from experiments import common

_CONFIG = common.define_config()
_WORKDIR = flags.DEFINE_string(
  "workdir", None, "Output directory (default: runs/noise_study-<time>)."
)


def main(argv):
  del argv
  config = _CONFIG.value
  common.setup(config)
  workdir = common.sweep_workdir(_WORKDIR.value, "noise_study")
  s = config.study
  results = sweeps.run_noise_study(
    config,
    workdir,
    common.load_dataset(config),
    fixed_p=s.fixed_p,
    schedule=(s.schedule.p0, s.schedule.zeta, s.schedule.milestones),
  )
  if parallel.is_writer():
    print(sweeps.write_noise_report(results, workdir))


if __name__ == "__main__":
  common.run_app(main, "experiments.noise_study")

"""One config over several seeds, reported as mean ± standard deviation (as papers report).

  python -m experiments.seeds --config=experiments/configs/mnist.py --seeds=0,1,2 [--workdir=...]

Trains the config once per seed (the dataset is loaded with that seed too), each in
``<workdir>/seed_<s>`` (a finished seed is not rerun, so the command resumes), then writes
``seeds.json`` (per-seed test scores and their mean, sample standard deviation and count) and
``seeds.md`` (a table) to the workdir. Works with any train-one-config config, e.g. a
full-scale one with ``--config.protocol=paper`` to compare with the paper's tables.
"""

from absl import flags

from asgl_jax import parallel
from asgl_jax.train import sweeps
from experiments import common

_CONFIG = common.define_config()
_WORKDIR = flags.DEFINE_string("workdir", None, "Output directory (default: runs/seeds-<time>).")
_SEEDS = flags.DEFINE_list("seeds", ["0", "1", "2"], "Comma-separated seeds.")


def main(argv):
  del argv
  config = _CONFIG.value
  common.setup(config)
  workdir = common.sweep_workdir(_WORKDIR.value, "seeds")
  try:
    seeds = [int(s) for s in _SEEDS.value]
  except ValueError:
    raise SystemExit(f"experiments.seeds: --seeds must be integers, got {_SEEDS.value}") from None
  records = sweeps.run_seeds(config, workdir, common.load_dataset, seeds=seeds)
  if parallel.is_writer():
    print(sweeps.write_seed_report(records, workdir))


if __name__ == "__main__":
  common.run_app(main, "experiments.seeds")

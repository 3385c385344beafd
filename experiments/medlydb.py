"""Instrument recognition with C-LIF neurons on user-provided spikegrams (paper App. B.4).

python -m experiments.medlydb --config=experiments/configs/medlydb.py --config.dataset.data_dir=DIR
"""

from experiments import common
from experiments.shd import main

if __name__ == "__main__":
  common.run_app(main, "experiments.medlydb")

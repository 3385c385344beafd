"""Event-camera classification (paper §5.3 / App. B.4).

python -m experiments.dvs_gesture --config=experiments/configs/dvs_gesture.py --config.dataset.data_dir=DIR
"""

from experiments import common
from experiments.shd import main

if __name__ == "__main__":
  common.run_app(main, "experiments.dvs_gesture")

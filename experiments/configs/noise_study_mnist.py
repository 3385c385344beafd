"""Fixed vs raised spike-mode probability, offline:
``python -m experiments.noise_study --config=experiments/configs/noise_study_mnist.py``.

Defined in :mod:`asgl_jax.configs.noise_study_mnist` (notebooks use it too).
"""

from asgl_jax.configs.noise_study_mnist import get_config

__all__ = ["get_config"]

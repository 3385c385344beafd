"""Fixed vs raised spike-mode probability on a deep spiking MLP, offline:
``python -m experiments.noise_study --config=experiments/configs/noise_study_deep_mnist.py``.

Defined in :mod:`asgl_jax.configs.noise_study_deep_mnist`.
"""

from asgl_jax.configs.noise_study_deep_mnist import get_config

__all__ = ["get_config"]

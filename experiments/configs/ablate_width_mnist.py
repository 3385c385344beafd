"""SG vs ASGL by initial width, offline:
``python -m experiments.ablate_width --config=experiments/configs/ablate_width_mnist.py``.

Defined in :mod:`asgl_jax.configs.ablate_width_mnist` (notebooks use it too).
"""

from asgl_jax.configs.ablate_width_mnist import get_config

__all__ = ["get_config"]

"""The main job, offline: ``python -m experiments.mnist [--config.method=sg] ...``.

Defined in :mod:`asgl_jax.configs.mnist` (notebooks use it too).
"""

from asgl_jax.configs.mnist import get_config

__all__ = ["get_config"]

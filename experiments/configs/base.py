"""Fields shared by every experiment config (defined in :mod:`asgl_jax.configs.base`)."""

from asgl_jax.configs.base import get_config

__all__ = ["get_config"]

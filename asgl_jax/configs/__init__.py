"""The configs that notebooks and the experiment mains share (``ml_collections``).

- :mod:`~asgl_jax.configs.base`: the fields every experiment config has.
- :mod:`~asgl_jax.configs.mnist`: the main job (spiking CNN, bundled MNIST subset, offline).
- :mod:`~asgl_jax.configs.ablate_width_mnist`, :mod:`~asgl_jax.configs.noise_study_mnist`:
  the width and noise studies of the paper on the same data.

The full-scale experiment configs live with the mains, in ``experiments/configs/``.
"""

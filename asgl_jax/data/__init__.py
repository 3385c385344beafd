"""Datasets: in-memory arrays with deterministic, resumable batching, found by name.

:func:`load` returns a registered dataset (:func:`available_datasets`); every dataset
implements :class:`Dataset`. File formats (AEDAT readers, event framing) live in
:mod:`asgl_jax.data.aedat`, downloads with checksums in :mod:`asgl_jax.data.download`.
"""

from asgl_jax.data.arrays import ArrayDataset, ExampleRNG, random_translate
from asgl_jax.data.mnist import load_mnist_subset
from asgl_jax.data.registry import (
  Dataset,
  available_datasets,
  load,
  missing_requirements,
  register_dataset,
)

__all__ = [
  "ArrayDataset",
  "Dataset",
  "ExampleRNG",
  "available_datasets",
  "load",
  "load_mnist_subset",
  "missing_requirements",
  "random_translate",
  "register_dataset",
]

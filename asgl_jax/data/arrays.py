"""In-memory datasets with deterministic, resumable batching."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

import numpy as np


def random_translate(images: np.ndarray, rng: np.random.Generator, max_shift: int) -> np.ndarray:
  """Shifts each image ``[B, H, W, C]`` by up to ``max_shift`` pixels (zero padding)."""
  if max_shift <= 0:
    return images
  b, h, w, _ = images.shape
  padded = np.pad(images, ((0, 0), (max_shift, max_shift), (max_shift, max_shift), (0, 0)))
  dy = rng.integers(0, 2 * max_shift + 1, size=b)
  dx = rng.integers(0, 2 * max_shift + 1, size=b)
  rows = dy[:, None] + np.arange(h)[None, :]
  cols = dx[:, None] + np.arange(w)[None, :]
  return padded[np.arange(b)[:, None, None], rows[:, :, None], cols[:, None, :]]


def split_validation(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
  """``(train, validation)`` sorted indices: a random ``fraction`` of ``range(n)`` (seeded)
  is held out for validation."""
  perm = np.random.default_rng(seed).permutation(n)
  n_val = round(fraction * n)
  return np.sort(perm[n_val:]), np.sort(perm[:n_val])


@dataclasses.dataclass
class ArrayDataset:
  """Train/validation/test splits held as numpy arrays.

  Training batches depend only on ``(seed, epoch, index)``, so a resumed run
  sees exactly the batches an uninterrupted run would.

  Attributes:
    splits: ``{"train"|"validation"|"test": (images, labels)}``.
    num_classes: number of classes.
    augment: optional ``(images, rng) -> images`` applied to training batches.
    name: for messages.
  """

  splits: dict[str, tuple[np.ndarray, np.ndarray]]
  num_classes: int
  augment: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None
  name: str = "arrays"

  def __post_init__(self):
    for split, (x, y) in self.splits.items():
      if len(x) != len(y):
        raise ValueError(f"{self.name}: split {split!r} has {len(x)} inputs but {len(y)} labels")

  def num_examples(self, split: str) -> int:
    return len(self.splits[split][1])

  def steps_per_epoch(self, batch_size: int) -> int:
    n = self.num_examples("train") // batch_size
    if n < 1:
      raise ValueError(
        f"{self.name}: batch_size {batch_size} exceeds the {self.num_examples('train')} training examples"
      )
    return n

  def train_indices(self, *, seed: int, epoch: int, index: int, batch_size: int) -> np.ndarray:
    """Sorted training-example indices of batch ``index`` of ``epoch`` (a per-epoch shuffle)."""
    perm = np.random.default_rng([seed, epoch]).permutation(self.num_examples("train"))
    return np.sort(perm[index * batch_size : (index + 1) * batch_size])

  def train_batch(
    self, *, seed: int, epoch: int, index: int, batch_size: int
  ) -> dict[str, np.ndarray]:
    """Training batch ``index`` of ``epoch`` (shuffled per epoch, remainder dropped)."""
    x, y = self.splits["train"]
    idx = self.train_indices(seed=seed, epoch=epoch, index=index, batch_size=batch_size)
    rng = np.random.default_rng([seed, epoch, index, 1])
    return {"image": self._train_inputs(x, idx, rng), "label": y[idx]}

  def eval_batches(self, split: str, batch_size: int) -> Iterator[dict[str, np.ndarray]]:
    """Batches of ``split`` padded to ``batch_size``; ``mask`` marks real examples."""
    if split not in self.splits:
      raise ValueError(f"{self.name}: no split {split!r}; have {sorted(self.splits)}")
    x, y = self.splits[split]
    for start in range(0, len(y), batch_size):
      idx = np.arange(start, min(start + batch_size, len(y)))
      xb, yb = self._eval_inputs(x, idx), y[idx]
      n = len(yb)
      pad = batch_size - n
      mask = np.concatenate([np.ones(n, bool), np.zeros(pad, bool)])
      if pad:
        xb = np.concatenate([xb, np.zeros((pad, *xb.shape[1:]), xb.dtype)])
        yb = np.concatenate([yb, np.zeros((pad,), yb.dtype)])
      yield {"image": xb, "label": yb, "mask": mask}

  # How inputs are cut from a split's storage; subclasses that store something other than
  # one array per split (e.g. variable-length recordings) override these two.

  def _train_inputs(self, x, idx: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    images = x[idx]
    return images if self.augment is None else self.augment(images, rng)

  def _eval_inputs(self, x, idx: np.ndarray) -> np.ndarray:
    return x[idx]

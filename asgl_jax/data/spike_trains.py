"""Spike-train datasets: Spiking Heidelberg Digits (SHD) and the offline Randman task.

Both yield binned spike counts as arrays ``[N, T, channels]`` (batch-major, so
batches shard along axis 0; the recurrent model transposes to time-major
``[T, B, channels]`` itself).

**SHD** (Cramer et al., 2020; 700 channels, 20 classes, 8,156 train / 2,264 test
recordings): the official HDF5 files hold per recording the ragged arrays
``spikes/times`` (seconds) and ``spikes/units`` (channel indices) and the
integer ``labels``. :func:`load_shd` downloads ``shd_{train,test}.h5.zip`` from
the dataset's home page unless the ``.h5`` (or the ``.h5.zip`` / ``.h5.gz``) is
already in ``data_dir``, bins the spikes into ``T`` steps over ``[0, max_time)``
and caches the binned arrays next to the files (``.npz``), so later runs do not
re-read the HDF5.

**Randman** (Zenke & Vogels, 2021): each class is a smooth random manifold of
dimension ``dim`` embedded in ``channels`` dimensions; a sample is a random
point on its class's manifold, and each channel fires once, at a time given by
that channel's coordinate. Generated locally from a seed: no download.
"""

from __future__ import annotations

import gzip
import os
import shutil
import zipfile
import zlib

import numpy as np

from asgl_jax.data import cache, downloads
from asgl_jax.data.arrays import ArrayDataset, split_validation

SHD_URL = "https://zenkelab.org/datasets/"
# The published MD5s of shd_{train,test}.h5.zip (as tonic and SpikingJelly check them).
SHD_MD5 = {"train": "f3252aeb598ac776c1b526422d90eecb", "test": "1503a5064faa34311c398fb0a1ed0a6f"}
SHD_CHANNELS = 700
SHD_CLASSES = 20


# ----------------------------------------------------------------------------- binning


def bin_spikes(times, units, *, num_steps: int, num_channels: int, max_time: float) -> np.ndarray:
  """Spike counts ``[N, num_steps, num_channels]`` (uint8, saturating at 255) from ragged
  spike lists.

  Spike ``(t, u)`` of recording ``n`` lands in bin ``floor(t / max_time · num_steps)``;
  spikes at ``t >= max_time`` are dropped. A negative or non-finite time, a unit outside
  ``[0, num_channels)`` or lists of different lengths are a ``ValueError`` naming the recording.

  Example:
    >>> import numpy as np
    >>> from asgl_jax.data import spike_trains
    >>> c = spike_trains.bin_spikes([np.full(300, 0.1)], [np.zeros(300, int)], num_steps=2,
    ...                             num_channels=1, max_time=1.0)
    >>> c[0, :, 0].tolist()  # 300 spikes in one bin saturate at 255
    [255, 0]
  """
  if num_steps < 1 or max_time <= 0:
    raise ValueError(
      f"bin_spikes: need num_steps >= 1 and max_time > 0, got {num_steps}, {max_time}"
    )
  if len(times) != len(units):
    raise ValueError(f"bin_spikes: {len(times)} time lists but {len(units)} unit lists")
  out = np.zeros((len(times), num_steps, num_channels), np.uint8)
  for n, (t, u) in enumerate(zip(times, units)):
    t = np.asarray(t, np.float64)
    u = np.asarray(u)
    if t.shape != u.shape or t.ndim != 1:
      raise ValueError(f"bin_spikes: recording {n} has times {t.shape} but units {u.shape}")
    if not np.issubdtype(u.dtype, np.integer) and not np.all(u == np.round(u)):
      raise ValueError(f"bin_spikes: recording {n} has non-integer units")
    u = u.astype(np.int64)
    if len(t) and not (np.isfinite(t).all() and t.min() >= 0):
      raise ValueError(f"bin_spikes: recording {n} has negative or non-finite spike times")
    if len(u) and (u.min() < 0 or u.max() >= num_channels):
      raise ValueError(
        f"bin_spikes: recording {n} has units in [{u.min()}, {u.max()}], outside "
        f"[0, {num_channels})"
      )
    b = np.floor(t / max_time * num_steps).astype(np.int64)
    keep = b < num_steps
    counts = np.bincount(b[keep] * num_channels + u[keep], minlength=num_steps * num_channels)
    out[n] = np.minimum(counts, 255).reshape(num_steps, num_channels)
  return out


# ----------------------------------------------------------------------------- SHD


def _shd_file(data_dir: str, split: str, download: bool) -> str:
  h5 = os.path.join(data_dir, f"shd_{split}.h5")
  if os.path.exists(h5):
    return h5
  for ext in (".zip", ".gz"):
    archive = h5 + ext
    if not os.path.exists(archive) and ext == ".zip" and download:
      downloads.fetch(
        SHD_URL + os.path.basename(archive),
        archive,
        md5=SHD_MD5[split],
        dataset="SHD",
        manual=f"Download shd_{split}.h5.zip on a machine with internet and put it (or the "
        f"extracted .h5) in {data_dir}.",
      )
    if os.path.exists(archive):

      def extract(tmp, archive=archive, ext=ext):
        if ext == ".zip":
          with zipfile.ZipFile(archive) as z:
            z.extract(os.path.basename(h5), tmp)
        else:
          with (
            gzip.open(archive) as src,
            open(os.path.join(tmp, os.path.basename(h5)), "wb") as dst,
          ):
            shutil.copyfileobj(src, dst)

      try:  # a killed extraction leaves no half-written .h5
        cache.extract_atomically(extract, h5, data_dir)
      except (OSError, EOFError, zlib.error, zipfile.BadZipFile, KeyError) as e:
        raise ValueError(f"SHD: cannot extract {archive} ({type(e).__name__}: {e})") from None
      return h5
  raise FileNotFoundError(
    f"SHD: {h5} not found. Download shd_{split}.h5.zip from {SHD_URL} and put it (or the extracted "
    f".h5) in {data_dir}, or pass download=True where there is internet. The offline spike-train "
    "task is experiments/configs/randman.py."
  )


def load_shd_split(
  data_dir: str, split: str, *, num_steps: int = 250, max_time: float = 1.4, download: bool = True
) -> tuple[np.ndarray, np.ndarray]:
  """Binned SHD split: ``(spikes [N, num_steps, 700] uint8, labels [N] int32)``, cached as .npz."""
  cache_file = os.path.join(data_dir, f"shd_{split}_T{num_steps}_{max_time:g}s.npz")
  raw = [os.path.join(data_dir, f"shd_{split}.h5{ext}") for ext in ("", ".zip", ".gz")]
  settings = {"num_steps": num_steps, "max_time": max_time}

  def check(a):
    x, y = a["spikes"], a["labels"]
    if x.dtype != np.uint8 or x.shape[1:] != (num_steps, SHD_CHANNELS) or y.shape != x.shape[:1]:
      raise ValueError(f"spikes {x.dtype}{list(x.shape)}, labels {list(y.shape)}")

  hit = cache.load(cache_file, sources=raw, settings=settings, check=check)
  if hit is not None:
    return hit["spikes"], hit["labels"]
  import h5py

  h5 = _shd_file(data_dir, split, download)
  try:
    with h5py.File(h5, "r") as f:
      times, units = f["spikes"]["times"][:], f["spikes"]["units"][:]
      labels = np.asarray(f["labels"][:])
  except (OSError, KeyError) as e:  # not HDF5, or not SHD's layout
    raise ValueError(f"{h5}: not an SHD file ({type(e).__name__}: {e})") from None
  if labels.dtype.kind not in "iu" or labels.shape != (len(times),) or len(units) != len(times):
    raise ValueError(
      f"{h5}: {len(times)} spike-time and {len(units)} unit recordings but labels of dtype "
      f"{labels.dtype} and shape {labels.shape} (expected one integer label per recording)"
    )
  if len(labels) and (labels.min() < 0 or labels.max() >= SHD_CLASSES):
    raise ValueError(
      f"{h5}: labels in [{labels.min()}, {labels.max()}], outside [0, {SHD_CLASSES}) for SHD's "
      f"{SHD_CLASSES} classes"
    )
  labels = labels.astype(np.int32)
  try:
    spikes = bin_spikes(
      times, units, num_steps=num_steps, num_channels=SHD_CHANNELS, max_time=max_time
    )
  except ValueError as e:
    raise ValueError(f"{h5}: {e}") from None
  cache.save(
    cache_file, {"spikes": spikes, "labels": labels}, sources=raw, settings=settings, compress=True
  )
  return spikes, labels


def load_shd(
  data_dir: str,
  *,
  num_steps: int = 250,
  max_time: float = 1.4,
  validation_fraction: float = 0.1,
  seed: int = 0,
  download: bool = True,
) -> ArrayDataset:
  """SHD as an :class:`ArrayDataset`; validation is a random ``validation_fraction`` of train
  (the official test split is used only as the test set)."""
  x, y = load_shd_split(
    data_dir, "train", num_steps=num_steps, max_time=max_time, download=download
  )
  xt, yt = load_shd_split(
    data_dir, "test", num_steps=num_steps, max_time=max_time, download=download
  )
  tr, val = split_validation(len(y), validation_fraction, seed)
  return ArrayDataset(
    {"train": (x[tr], y[tr]), "validation": (x[val], y[val]), "test": (xt, yt)},
    num_classes=SHD_CLASSES,
    name="shd",
  )


# ----------------------------------------------------------------------------- Randman


def _random_manifold(rng: np.random.Generator, channels: int, dim: int, alpha: float, terms: int):
  """Random smooth functions ``[0, 1]^dim → [0, 1]^channels``: per channel and manifold
  axis a Fourier series with amplitudes ``~U(0, 1) / k^alpha``; axes multiply."""
  k = np.arange(1, terms + 1)
  amp = rng.uniform(size=(channels, dim, terms)) / k**alpha
  freq = rng.uniform(size=(channels, dim, terms)) * k
  phase = rng.uniform(size=(channels, dim, terms))

  def f(x):  # x: [S, dim] → [S, channels]
    arg = 2 * np.pi * (x[:, None, :, None] * freq[None] + phase[None])  # [S, C, D, K]
    return np.prod(np.sum(amp[None] * np.sin(arg), axis=-1), axis=-1)

  return f


def make_randman(
  *,
  num_classes: int = 10,
  channels: int = 100,
  num_steps: int = 100,
  dim: int = 1,
  alpha: float = 2.0,
  samples_per_class: int = 1000,
  terms: int = 25,
  seed: int = 0,
  validation_fraction: float = 0.1,
  test_fraction: float = 0.2,
) -> ArrayDataset:
  """The Randman spike-timing task (Zenke & Vogels, 2021), generated offline.

  Each class ``c`` has its own random smooth manifold; a sample draws ``x ~ U[0, 1]^dim``,
  evaluates the manifold and rescales each channel to ``[0, 1)`` over all samples of the
  dataset; channel ``i`` then spikes once, in step ``floor(value_i · num_steps)``.
  Returns spikes ``[N, num_steps, channels]`` (uint8) and labels, split into
  train / validation / test.
  """
  rng = np.random.default_rng(seed)
  vals, labels = [], []
  for c in range(num_classes):
    f = _random_manifold(rng, channels, dim, alpha, terms)
    vals.append(f(rng.uniform(size=(samples_per_class, dim))))
    labels.append(np.full(samples_per_class, c, np.int32))
  v = np.concatenate(vals)
  y = np.concatenate(labels)
  lo, hi = v.min(axis=0), v.max(axis=0)
  v = (v - lo) / np.maximum(hi - lo, 1e-12) * (1 - 1e-9)
  steps = np.floor(v * num_steps).astype(np.int64)  # [N, C]
  x = np.zeros((len(y), num_steps, channels), np.uint8)
  x[np.arange(len(y))[:, None], steps, np.arange(channels)[None, :]] = 1
  perm = rng.permutation(len(y))
  n_test = round(test_fraction * len(y))
  n_val = round(validation_fraction * len(y))
  te, va, tr = (
    np.sort(i) for i in (perm[:n_test], perm[n_test : n_test + n_val], perm[n_test + n_val :])
  )
  return ArrayDataset(
    {"train": (x[tr], y[tr]), "validation": (x[va], y[va]), "test": (x[te], y[te])},
    num_classes=num_classes,
    name="randman",
  )


# ----------------------------------------------------------------------------- spikegrams


def load_spikegrams(
  data_dir: str = "",
  *,
  num_steps: int,
  channels: int = 384,
  validation_fraction: float = 0.1,
  seed: int = 0,
) -> ArrayDataset:
  """Spikegram arrays for the C-LIF instrument model (paper App. B.4; MedlyDB needs a licence,
  so the spikegrams are the user's).

  Format: ``<data_dir>/train.npz`` and ``<data_dir>/test.npz``, each with ``spikes``
  ``[N, num_steps, channels]`` (0/1 or counts, any integer or bool dtype) and ``labels``
  ``[N]`` (integers ``0 .. K−1``). The number of classes is ``max(label) + 1``. Validation
  is a random ``validation_fraction`` of train.
  """
  if not data_dir:
    raise FileNotFoundError(
      "spikegrams: set --config.dataset.data_dir to the folder with train.npz and test.npz"
    )
  splits = {}
  for split in ("train", "test"):
    path = os.path.join(data_dir, f"{split}.npz")
    if not os.path.exists(path):
      raise FileNotFoundError(
        f"spikegrams: {path} not found; write train.npz and test.npz with arrays 'spikes' "
        f"[N, {num_steps}, {channels}] and 'labels' [N] (see asgl_jax.data.spike_trains.load_spikegrams)"
      )
    with np.load(path) as z:
      if "spikes" not in z or "labels" not in z:
        raise ValueError(
          f"spikegrams: {path} needs arrays 'spikes' and 'labels', has {sorted(z.files)}"
        )
      x, y = z["spikes"], z["labels"]
    if x.ndim != 3 or x.shape[1:] != (num_steps, channels) or len(x) != len(y):
      raise ValueError(
        f"spikegrams: {path}: expected spikes [N, {num_steps}, {channels}] and labels [N], "
        f"got {x.shape} and {y.shape}"
      )
    if not (np.issubdtype(x.dtype, np.integer) or x.dtype == np.bool_):
      raise ValueError(f"spikegrams: {path}: spikes must be integer or bool, got {x.dtype}")
    splits[split] = (x.astype(np.uint8), y.astype(np.int32))
  x, y = splits["train"]
  tr, va = split_validation(len(y), validation_fraction, seed)
  num_classes = int(max(y.max(), splits["test"][1].max())) + 1
  return ArrayDataset(
    {"train": (x[tr], y[tr]), "validation": (x[va], y[va]), "test": splits["test"]},
    num_classes=num_classes,
    name="spikegrams",
  )

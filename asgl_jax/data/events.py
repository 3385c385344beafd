"""Event-camera datasets: DVS-CIFAR10 and DVS128 Gesture, read from the official recordings.

Both sensors are 128×128 DVS cameras; an event is ``(t [µs], x, y, polarity)``. Events are
integrated into frames ``[T, H, W, 2]`` (counts per pixel and polarity, channel-last like the
image pipelines) and cached next to the raw files, so later runs never re-parse events.

**DVS-CIFAR10** (Li et al., 2017; 10 classes × 1,000 recordings, figshare): one jAER
AEDAT 2.0 file per recording (``<class>/cifar10_<class>_<i>.aedat``): ``#`` header lines, then
big-endian ``(address uint32, timestamp uint32)`` pairs with ``x = (a & 0xFE) >> 1``,
``y = (a & 0x7F00) >> 8``, polarity ``a & 1``. Like SpikingJelly (whose frames the released
code trained on) we orient them as ``x' = 127 − y``, ``y' = 127 − x``, ``p' = 1 − p``.
Frames: the events of a recording split into ``T`` chunks of equal event count (SpikingJelly's
``split_by="number"``; ``"time"`` splits the duration evenly), resized 128 → 48 by area
averaging (an antialiased resize; the released code used torchvision's ``Resize``). Split:
per class, the first 90 % of recordings (by file index) train, the rest test — SpikingJelly's
``split_to_train_test_set(0.9, …)``. Training augmentation as released: random horizontal flip
and a random circular roll of up to ±5 pixels in each direction (:func:`flip_and_roll`).

**DVS128 Gesture** (Amir et al., 2017; 11 classes, 29 subjects, 3 lighting conditions): AEDAT
3.1 files ``userNN_<lighting>.aedat`` with ``userNN_<lighting>_labels.csv``
(``class,startTime_usec,endTime_usec``) and the official ``trials_to_train.txt`` /
``trials_to_test.txt``. Every labelled span becomes one sample, binned into 25 ms frames (the
whole span, stored sparsely), and a training clip is ``T = 60`` consecutive frames from a
random start (RCS, Yao et al. 2021, as the paper does); evaluation clips start at the beginning.
IBM distributes the dataset only by manual download (``DvsGesture.tar.gz``); ``source="tonic"``
instead reads the preprocessed copy that `tonic <https://tonic.readthedocs.io>`_ (optional
extra ``pip install asgl_jax[events]``, GPL-3.0) downloads by itself.
"""

from __future__ import annotations

import dataclasses
import glob
import os
import re
import sys
import tarfile
import zipfile
import zlib

import numpy as np

from asgl_jax.data import aedat, cache, downloads
from asgl_jax.data.aedat import POLARITIES, SENSOR_SIZE, SparseClips
from asgl_jax.data.arrays import ArrayDataset, ExampleRNG, split_validation


def flip_and_roll(frames: np.ndarray, rng: ExampleRNG, max_roll: int = 5) -> np.ndarray:
  """The released DVS-CIFAR10 augmentation on a batch ``[B, T, H, W, C]``: per sample, flip
  the width axis with probability 1/2, then ``np.roll`` (circular, as ``torch.roll``) by
  ``(dy, dx)`` drawn uniformly from ``[−max_roll, max_roll]``; the same for every frame.
  ``rng`` (an :class:`~asgl_jax.data.arrays.ExampleRNG`) draws per sample."""
  if len(rng) != len(frames):
    raise ValueError(f"flip_and_roll: {len(frames)} clips but {len(rng)} example keys")
  out = np.empty_like(frames)
  flips = rng.random() < 0.5
  shifts = rng.integers(-max_roll, max_roll + 1, (2,))
  for i, f in enumerate(frames):
    f = f[:, :, ::-1] if flips[i] else f
    out[i] = np.roll(f, tuple(shifts[i]), axis=(1, 2))
  return out


# ----------------------------------------------------------------------------- DVS-CIFAR10

CIFAR10DVS_CLASSES = (
  "airplane",
  "automobile",
  "bird",
  "cat",
  "deer",
  "dog",
  "frog",
  "horse",
  "ship",
  "truck",
)
CIFAR10DVS_URLS = {  # figshare "CIFAR10-DVS New" (article 4724671), one zip per class, with MD5
  "airplane": (
    "https://ndownloader.figshare.com/files/7712788",
    "0afd5c4bf9ae06af762a77b180354fdd",
  ),
  "automobile": (
    "https://ndownloader.figshare.com/files/7712791",
    "8438dfeba3bc970c94962d995b1b9bdd",
  ),
  "bird": ("https://ndownloader.figshare.com/files/7712794", "a9c207c91c55b9dc2002dc21c684d785"),
  "cat": ("https://ndownloader.figshare.com/files/7712812", "52c63c677c2b15fa5146a8daf4d56687"),
  "deer": ("https://ndownloader.figshare.com/files/7712815", "b6bf21f6c04d21ba4e23fc3e36c8a4a3"),
  "dog": ("https://ndownloader.figshare.com/files/7712818", "f379ebdf6703d16e0a690782e62639c3"),
  "frog": ("https://ndownloader.figshare.com/files/7712842", "cad6ed91214b1c7388a5f6ee56d08803"),
  "horse": ("https://ndownloader.figshare.com/files/7712851", "e7cbbf77bec584ffbf913f00e682782a"),
  "ship": ("https://ndownloader.figshare.com/files/7712836", "41c7bd7d6b251be82557c6cce9a7d5c9"),
  "truck": ("https://ndownloader.figshare.com/files/7712839", "89f3922fd147d9aeff89e76a2b0b70a7"),
}


def _cifar10dvs_class_files(data_dir: str, name: str, download: bool) -> list[str]:
  """The ``.aedat`` files of class ``name`` in index order, extracting/downloading its zip."""
  folder = os.path.join(data_dir, name)
  if not os.path.isdir(folder):
    archive = os.path.join(data_dir, f"{name}.zip")
    url, md5 = CIFAR10DVS_URLS[name]
    if not os.path.exists(archive):
      if not download:
        raise FileNotFoundError(
          f"DVS-CIFAR10: neither {folder}/ nor {archive} exists (download=False)"
        )
      downloads.fetch(
        url,
        archive,
        md5=md5,
        dataset="DVS-CIFAR10",
        manual="Download the ten class zips from "
        "https://figshare.com/articles/dataset/CIFAR10-DVS_New/4724671 and put them (or the "
        f"extracted class folders) in {data_dir}.",
      )

    def extract(tmp):
      with zipfile.ZipFile(archive) as z:
        z.extractall(tmp)

    try:  # a killed extraction leaves no half-filled class folder
      cache.extract_atomically(extract, folder, data_dir)
    except FileNotFoundError:
      raise FileNotFoundError(f"DVS-CIFAR10: {archive} did not contain a folder {name}/") from None
    except (OSError, zlib.error, zipfile.BadZipFile) as e:
      raise ValueError(f"DVS-CIFAR10: cannot extract {archive} ({type(e).__name__}: {e})") from None
  files = [f for f in os.listdir(folder) if f.endswith(".aedat")]
  if not files:
    raise FileNotFoundError(f"DVS-CIFAR10: no .aedat files in {folder}")

  def index(f):
    m = re.search(r"(\d+)\.aedat$", f)
    return (int(m.group(1)) if m else -1, f)

  return [os.path.join(folder, f) for f in sorted(files, key=index)]


def _cifar10dvs_sources(data_dir: str) -> list[str]:
  """The raw files a DVS-CIFAR10 cache is built from (class zips and recordings)."""
  out = []
  for name in CIFAR10DVS_CLASSES:
    out.append(os.path.join(data_dir, f"{name}.zip"))
    out += glob.glob(os.path.join(glob.escape(data_dir), name, "*.aedat"))
  return out


def load_dvs_cifar10(
  data_dir: str,
  *,
  num_frames: int = 10,
  size: int = 48,
  split_by: str = "number",
  train_fraction: float = 0.9,
  validation_fraction: float = 0.1,
  max_roll: int = 5,
  seed: int = 0,
  download: bool = True,
  frames: str = "counts",
) -> ArrayDataset:
  """DVS-CIFAR10 as an :class:`ArrayDataset` of frames ``[N, T, size, size, 2]`` (float16).

  Per class, the first ``train_fraction`` of the recordings (by file index) are the training
  split and the rest the test split; a random ``validation_fraction`` of the training split is
  held out for validation (0 keeps all 9,000 for training with no validation split, as the
  released code trained; ``--config.protocol=paper`` does the same). ``frames``: the pixel
  values before the resize, event ``"counts"`` or the released code's near-binary
  ``"release"`` values (:func:`asgl_jax.data.aedat.frame_values`). Frames are cached in
  ``<data_dir>/dvs_cifar10_T{T}_{size}px_{split_by}[_release].npz``.
  """
  if not 0 < train_fraction < 1 or not 0 <= validation_fraction < 1:
    raise ValueError(
      f"load_dvs_cifar10: need 0 < train_fraction < 1 and 0 <= validation_fraction < 1, "
      f"got {train_fraction}, {validation_fraction}"
    )
  if frames not in aedat.FRAME_VALUES:
    raise ValueError(
      f"load_dvs_cifar10: frames must be one of {aedat.FRAME_VALUES}, got {frames!r}"
    )
  suffix = "" if frames == "counts" else f"_{frames}"
  cache_file = os.path.join(data_dir, f"dvs_cifar10_T{num_frames}_{size}px_{split_by}{suffix}.npz")
  settings = {"num_frames": num_frames, "size": size, "split_by": split_by, "frames": frames}
  raw = _cifar10dvs_sources(data_dir)

  def check(a):
    x, y, i = a["frames"], a["labels"], a["index"]
    if x.shape[1:] != (num_frames, size, size, POLARITIES) or not y.shape == i.shape == x.shape[:1]:
      raise ValueError(f"frames {list(x.shape)}, labels {list(y.shape)}, index {list(i.shape)}")

  hit = cache.load(cache_file, sources=raw, settings=settings, check=check)
  if hit is not None:
    clips, labels, index = hit["frames"], hit["labels"], hit["index"]
  else:
    clips, labels, index = [], [], []
    for c, name in enumerate(CIFAR10DVS_CLASSES):
      files = _cifar10dvs_class_files(data_dir, name, download)
      print(f"DVS-CIFAR10: framing {len(files)} {name} recordings", file=sys.stderr)
      for i, path in enumerate(files):
        ev = aedat.read_aedat2_cifar10dvs(path)
        counts = aedat.events_to_frames(ev, num_frames=num_frames, split_by=split_by)
        clips.append(aedat.resize_frames(aedat.frame_values(counts, frames), size))
        labels.append(c)
        index.append(i)
    clips = np.stack(clips).astype(np.float16)
    labels, index = np.asarray(labels, np.int32), np.asarray(index, np.int32)
    arrays = {"frames": clips, "labels": labels, "index": index}
    cache.save(cache_file, arrays, sources=_cifar10dvs_sources(data_dir), settings=settings)
  train, test = [], []
  for c in range(len(CIFAR10DVS_CLASSES)):
    idx = np.flatnonzero(labels == c)
    n_train = round(train_fraction * len(idx))
    if not 0 < n_train < len(idx):
      raise ValueError(
        f"DVS-CIFAR10: class {CIFAR10DVS_CLASSES[c]} has {len(idx)} recordings; a "
        f"{train_fraction} train split leaves no train or no test recording"
      )
    train.append(idx[:n_train])
    test.append(idx[n_train:])
  train, test = np.concatenate(train), np.concatenate(test)
  splits = {"test": (clips[test], labels[test])}
  if validation_fraction > 0:
    tr, va = split_validation(len(train), validation_fraction, seed)
    train, val = train[tr], train[va]
    splits["validation"] = (clips[val], labels[val])
  splits["train"] = (clips[train], labels[train])
  return ArrayDataset(
    splits,
    num_classes=len(CIFAR10DVS_CLASSES),
    augment=(lambda x, rng: flip_and_roll(x, rng, max_roll)) if max_roll >= 0 else None,
    name="dvs_cifar10",
  )


# ----------------------------------------------------------------------------- DVS128 Gesture

GESTURE_CLASSES = 11


@dataclasses.dataclass
class EventClipDataset(ArrayDataset):
  """Clips of ``num_frames`` frames from variable-length recordings (``splits`` hold
  :class:`SparseClips`): training clips start at a random frame (uniform over the starts that
  fit, RCS), evaluation clips at frame 0. Batches are deterministic and resumable, as
  :class:`ArrayDataset`'s."""

  num_frames: int = 1

  def _train_inputs(self, clips: SparseClips, idx, rng) -> np.ndarray:
    starts = rng.integers(0, np.maximum(clips.num_bins[idx] - self.num_frames, 0) + 1)
    return clips.clips(idx, starts, self.num_frames)

  def _eval_inputs(self, clips: SparseClips, idx) -> np.ndarray:
    return clips.clips(idx, np.zeros(len(idx), np.int64), self.num_frames)


def _gesture_sources(data_dir: str) -> list[str]:
  """The raw files a DVS128 Gesture cache is built from (archive, lists, recordings, labels)."""
  out = [os.path.join(data_dir, "DvsGesture.tar.gz")]
  for root in (data_dir, os.path.join(data_dir, "DvsGesture")):
    for pattern in ("*.aedat", "*_labels.csv", "trials_to_*.txt"):
      out += glob.glob(os.path.join(glob.escape(root), pattern))
  return out


def _gesture_trials(data_dir: str) -> tuple[str, dict[str, list[str]]]:
  """The folder holding the official files and its train/test trial lists."""
  for root in (data_dir, os.path.join(data_dir, "DvsGesture")):
    if os.path.exists(os.path.join(root, "trials_to_train.txt")):
      break
  else:
    archive = os.path.join(data_dir, "DvsGesture.tar.gz")
    if not os.path.exists(archive):
      raise FileNotFoundError(
        f"DVS128 Gesture: no trials_to_train.txt in {data_dir} or {data_dir}/DvsGesture and no "
        f"{archive}. IBM distributes the dataset by manual download only: get DvsGesture.tar.gz "
        "from https://research.ibm.com/interactive/dvsgesture/ and put it in data_dir, or use "
        "--config.dataset.source=tonic (pip install asgl_jax[events]), which downloads tonic's "
        "preprocessed copy."
      )

    def extract(tmp, archive=archive):
      with tarfile.open(archive) as tar:
        tar.extractall(tmp, filter="data")

    try:  # a killed extraction leaves no half-filled DvsGesture/
      cache.extract_atomically(extract, os.path.join(data_dir, "DvsGesture"), data_dir)
    except FileNotFoundError:
      raise FileNotFoundError(f"DVS128 Gesture: {archive} has no DvsGesture/ folder") from None
    except (OSError, tarfile.TarError) as e:
      raise ValueError(
        f"DVS128 Gesture: cannot extract {archive} ({type(e).__name__}: {e})"
      ) from None
    return _gesture_trials(data_dir)
  lists = {}
  for split in ("train", "test"):
    with open(os.path.join(root, f"trials_to_{split}.txt")) as fh:
      lists[split] = [ln.strip() for ln in fh if ln.strip()]
  return root, lists


def _gesture_official(data_dir, frame_us, frame_size):
  root, lists = _gesture_trials(data_dir)
  out = {}
  for split, trials in lists.items():
    print(f"DVS128 Gesture: framing {len(trials)} {split} recordings", file=sys.stderr)
    samples = []
    for trial in trials:
      ev = aedat.read_aedat31_polarity(os.path.join(root, trial))
      csv = trial.replace(".aedat", "_labels.csv")
      try:
        labels = np.loadtxt(
          os.path.join(root, csv), delimiter=",", skiprows=1, dtype=np.int64, ndmin=2
        )
      except ValueError as e:  # a field that is not an integer, or ragged rows
        raise ValueError(f"DVS128 Gesture: {csv}: {e}") from None
      if labels.shape[1:] != (3,):
        raise ValueError(f"DVS128 Gesture: {csv}: expected 3 columns (class, start, end)")
      for cls, t0, t1 in labels:
        if not 1 <= cls <= GESTURE_CLASSES or not 0 <= t0 < t1:
          raise ValueError(
            f"DVS128 Gesture: {csv}: class {cls} (expected 1–{GESTURE_CLASSES}) or time span "
            f"[{t0}, {t1}) (expected 0 <= start < end) is invalid"
          )
        sp = aedat.sparse_frames(
          ev["t"], ev["x"], ev["y"], ev["p"], t0=t0, t1=t1, frame_us=frame_us, frame_size=frame_size
        )
        samples.append((*sp, cls - 1))
    out[split] = samples
  return out


def _gesture_tonic(data_dir, frame_us, frame_size):
  try:
    import tonic
  except ImportError as e:
    raise ImportError(
      f"DVS128 Gesture source='tonic' needs tonic (pip install asgl_jax[events]): {e}"
    ) from None
  out = {}
  for split in ("train", "test"):
    ds = tonic.datasets.DVSGesture(save_to=data_dir, train=split == "train")
    samples = []
    for i in range(len(ds)):
      ev, label = ds[i]
      t = ev["t"].astype(np.int64)
      t0 = int(t.min()) if len(t) else 0
      t1 = int(t.max()) + 1 if len(t) else 1
      sp = aedat.sparse_frames(
        t,
        ev["x"].astype(np.int64),
        ev["y"].astype(np.int64),
        ev["p"].astype(np.int64),
        t0=t0,
        t1=t1,
        frame_us=frame_us,
        frame_size=frame_size,
      )
      samples.append((*sp, int(label)))
    out[split] = samples
  return out


def _as_int32(flat: np.ndarray) -> np.ndarray:
  """Flat indices stored as int32 (half the cache); a sample longer than ~2^31 / (H·W·2)
  frames would not fit."""
  if len(flat) and flat.max() >= 2**31:
    raise ValueError("DVS128 Gesture: a sample is too long for int32 frame indices")
  return flat.astype(np.int32)


def _pack(samples, frame_size) -> tuple[SparseClips, np.ndarray]:
  flats, counts, bins, labels = zip(*samples) if samples else ((), (), (), ())
  sizes = [len(f) for f in flats]
  clips = SparseClips(
    _as_int32(np.concatenate(flats)) if flats else np.zeros(0, np.int32),
    np.minimum(np.concatenate(counts), 65535).astype(np.uint16)
    if counts
    else np.zeros(0, np.uint16),
    np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
    np.asarray(bins, np.int64),
    (frame_size, frame_size, POLARITIES),
  )
  return clips, np.asarray(labels, np.int32)


def load_dvs_gesture(
  data_dir: str,
  *,
  num_frames: int = 60,
  frame_ms: float = 25.0,
  frame_size: int = 128,
  split: str = "official",
  source: str = "official",
  validation_fraction: float = 0.1,
  seed: int = 0,
) -> EventClipDataset:
  """DVS128 Gesture as an :class:`EventClipDataset` of clips ``[T, frame_size, frame_size, 2]``.

  Args:
    num_frames: T, frames per clip (60 in the paper).
    frame_ms: frame length (25 ms in the paper).
    frame_size: 128 (native), or a divisor of it; pixels are summed in blocks.
    split: ``"official"`` (the dataset's trials_to_train/test lists, 23 vs 6 subjects) or
      ``"paper"`` (all samples shuffled with ``seed`` and split 9:1, which gives the paper's
      1,208 / 134 counts on the 1,342 samples).
    source: ``"official"`` (AEDAT 3.1 files) or ``"tonic"`` (tonic's preprocessed copy).
    validation_fraction: random share of the training split held out for validation
      (0: no validation split; use ``--config.protocol=paper``).
  """
  if SENSOR_SIZE % frame_size:
    raise ValueError(f"load_dvs_gesture: frame_size must divide 128, got {frame_size}")
  if split not in ("official", "paper") or source not in ("official", "tonic"):
    raise ValueError(
      f"load_dvs_gesture: split must be 'official'/'paper' and source 'official'/'tonic', "
      f"got {split!r}, {source!r}"
    )
  frame_us = round(frame_ms * 1000)
  cache_file = os.path.join(data_dir, f"dvs_gesture_{source}_{frame_us}us_{frame_size}px.npz")
  settings = {"source": source, "frame_us": frame_us, "frame_size": frame_size}
  raw = _gesture_sources(data_dir) if source == "official" else []

  def check(z):
    if tuple(z["shape"]) != (frame_size, frame_size, POLARITIES):
      raise ValueError(f"frame shape {tuple(z['shape'])}")
    for s in ("train", "test"):
      n = len(z[f"{s}_labels"])
      if len(z[f"{s}_offsets"]) != n + 1 or len(z[f"{s}_bins"]) != n:
        raise ValueError(f"{s}: {n} labels, {len(z[f'{s}_offsets'])} offsets")
      if len(z[f"{s}_flat"]) != len(z[f"{s}_counts"]):
        raise ValueError(f"{s}: flat indices and counts differ in length")

  z = cache.load(cache_file, sources=raw, settings=settings, check=check)
  if z is not None:
    packed = {
      s: (
        SparseClips(
          z[f"{s}_flat"], z[f"{s}_counts"], z[f"{s}_offsets"], z[f"{s}_bins"], tuple(z["shape"])
        ),
        z[f"{s}_labels"],
      )
      for s in ("train", "test")
    }
  else:
    read = _gesture_official if source == "official" else _gesture_tonic
    samples = read(data_dir, frame_us, frame_size)
    packed = {s: _pack(v, frame_size) for s, v in samples.items()}
    arrays = {"shape": np.array((frame_size, frame_size, POLARITIES))}
    for s, (c, y) in packed.items():
      arrays.update(
        {
          f"{s}_flat": c.flat,
          f"{s}_counts": c.counts,
          f"{s}_offsets": c.offsets,
          f"{s}_bins": c.num_bins,
          f"{s}_labels": y,
        }
      )
    cache.save(cache_file, arrays, sources=raw, settings=settings)
  (tr_c, tr_y), (te_c, te_y) = packed["train"], packed["test"]
  if split == "paper":
    all_c = tr_c.concatenate(te_c)
    all_y = np.concatenate([tr_y, te_y])
    perm = np.random.default_rng(seed).permutation(len(all_y))
    n_train = round(0.9 * len(all_y))
    tr_i, te_i = np.sort(perm[:n_train]), np.sort(perm[n_train:])
    tr_c, tr_y, te_c, te_y = all_c.subset(tr_i), all_y[tr_i], all_c.subset(te_i), all_y[te_i]
  splits = {"test": (te_c, te_y)}
  if validation_fraction > 0:
    tr, va = split_validation(len(tr_y), validation_fraction, seed)
    splits["validation"] = (tr_c.subset(va), tr_y[va])
    tr_c, tr_y = tr_c.subset(tr), tr_y[tr]
  splits["train"] = (tr_c, tr_y)
  return EventClipDataset(
    splits, num_classes=GESTURE_CLASSES, num_frames=num_frames, name="dvs_gesture"
  )

"""Small files in the datasets' real formats, for tests and benchmarks that cannot download.

Each writer follows the format's specification (the readers in :mod:`asgl_jax.data.aedat`,
:mod:`asgl_jax.data.events` and :mod:`asgl_jax.data.spike_trains` are tested against them):

>>> import tempfile, pathlib
>>> from asgl_jax.data import aedat
>>> path = pathlib.Path(tempfile.mkdtemp()) / "a.aedat"
>>> write_aedat2(path, [3, 4], [5, 6], [0, 1], [10, 20])
>>> len(aedat.read_aedat2_cifar10dvs(str(path))["t"])
2
"""

from __future__ import annotations

import pathlib
import struct
import zipfile

import numpy as np

from asgl_jax.data import events


def write_aedat2(path, x_raw, y_raw, p_raw, t):
  """jAER AEDAT 2.0 as in CIFAR10-DVS: '#' header lines, big-endian (address, timestamp)
  with address = y << 8 | x << 1 | p."""
  with open(path, "wb") as f:
    f.write(b"#!AER-DAT2.0\r\n# This is a raw AE data file - do not edit\r\n")
    f.write(b"# Data format is int32 address, int32 timestamp (8 bytes total)\r\n")
    addr = (np.asarray(y_raw, np.int64) << 8) | (np.asarray(x_raw, np.int64) << 1)
    addr |= np.asarray(p_raw, np.int64)
    f.write(np.stack([addr, np.asarray(t, np.int64)], -1).astype(">u4").tobytes())


def _packet(etype, events_bytes, number, size=8, overflow=0):
  header = struct.pack("<hhiiiiii", etype, 1, size, 4, overflow, number, number, number)
  return header + events_bytes


def write_aedat31(path, x, y, p, t, *, invalid=(), packet=50):
  """AEDAT 3.1: header ending in '#!END-HEADER', then packets of 28-byte headers and 8-byte
  polarity events (data = x << 17 | y << 2 | p << 1 | valid, timestamp = low 31 bits, the rest
  in the packet's tsOverflow). A special-event packet (type 0) comes first, to be skipped;
  the events whose indices are in ``invalid`` have their valid bit cleared.

  >>> import tempfile, pathlib
  >>> from asgl_jax.data import aedat
  >>> path = pathlib.Path(tempfile.mkdtemp()) / "g.aedat"
  >>> write_aedat31(path, [1, 2, 3], [4, 5, 6], [0, 1, 0], [10, 20, 2**31 + 5], invalid={1}, packet=2)
  >>> aedat.read_aedat31_polarity(str(path))["t"].tolist()
  [10, 2147483653]
  """
  out = [b"#!AER-DAT3.1\r\n#Format: RAW\r\n#Source 1: DVS128\r\n#!END-HEADER\r\n"]
  out.append(_packet(0, struct.pack("<Ii", 0xFFFFFFFF, 0), 1))
  t = np.asarray(t, np.int64)
  valid = np.ones(len(t), np.int64)
  valid[list(invalid)] = 0
  data = (np.asarray(x, np.int64) << 17) | (np.asarray(y, np.int64) << 2)
  data |= (np.asarray(p, np.int64) << 1) | valid
  words = np.stack([data, t & 0x7FFFFFFF], -1).astype("<u4")
  for lo in range(0, len(t), packet):
    sl = slice(lo, lo + packet)
    overflow = int(t[sl][0] >> 31)
    if np.any(t[sl] >> 31 != overflow):
      raise ValueError("write_aedat31: a packet's timestamps must share their high bits")
    out.append(_packet(1, words[sl].tobytes(), len(t[sl]), overflow=overflow))
  with open(path, "wb") as f:
    f.write(b"".join(out))


def write_cifar10dvs(root, per_class, zip_classes=(), seed=2):
  """A CIFAR10-DVS tree under ``root``: one folder of ``per_class`` AEDAT 2.0 recordings
  (30–59 random events each) per class, or one ``<class>.zip`` for the classes in
  ``zip_classes`` (as the dataset is distributed); returns ``{(class, i): event count}``.

  >>> import tempfile, os
  >>> root = tempfile.mkdtemp()
  >>> len(write_cifar10dvs(root, per_class=2, zip_classes=("cat",)))
  20
  >>> sorted(os.listdir(root))[:3]
  ['airplane', 'automobile', 'bird']
  """
  root = pathlib.Path(root)
  rng = np.random.default_rng(seed)
  counts = {}
  for name in events.CIFAR10DVS_CLASSES:
    folder = root / name
    folder.mkdir(parents=True)
    for i in range(per_class):
      n = int(rng.integers(30, 60))
      x, y, p = rng.integers(0, 128, n), rng.integers(0, 128, n), rng.integers(0, 2, n)
      write_aedat2(folder / f"cifar10_{name}_{i}.aedat", x, y, p, np.arange(n) * 10)
      counts[name, i] = n
    if name in zip_classes:
      with zipfile.ZipFile(root / f"{name}.zip", "w") as z:
        for f in sorted(folder.iterdir()):
          z.write(f, f"{name}/{f.name}")
      for f in folder.iterdir():
        f.unlink()
      folder.rmdir()
  return counts


def write_gesture(
  root, users_train=(1, 2), users_test=(3,), seed=3, duration_us=700_000, rate_hz=1000
):
  """A DVS128 Gesture tree under ``root``: one AEDAT 3.1 trial per user with its
  ``_labels.csv`` and the ``trials_to_{train,test}.txt`` lists. Per trial: two labelled spans
  (classes 1..11, each about half of ``duration_us``) of events at ``rate_hz`` with random
  pixels; returns
  ``{(trial, row): (class, t0, t1, t, x, y, p)}``.

  >>> import tempfile
  >>> truth = write_gesture(tempfile.mkdtemp(), users_train=(1,), users_test=(2,))
  >>> sorted(truth)[0], truth["user01_fluorescent.aedat", 0][:3]
  (('user01_fluorescent.aedat', 0), (2, 10000, 310000))
  """
  root = pathlib.Path(root)
  rng = np.random.default_rng(seed)
  root.mkdir(parents=True, exist_ok=True)
  truth = {}
  lists = {"train": [], "test": []}
  for split, users in (("train", users_train), ("test", users_test)):
    for u in users:
      trial = f"user{u:02d}_fluorescent.aedat"
      lists[split].append(trial)
      t = np.arange(0, duration_us, 1e6 / rate_hz).astype(np.int64)
      n = len(t)
      x, y, p = rng.integers(0, 128, n), rng.integers(0, 128, n), rng.integers(0, 2, n)
      write_aedat31(root / trial, x, y, p, t, packet=200)
      half = duration_us // 2
      spans = [
        (1 + (u % 11), 10_000, half - 40_000),
        (1 + ((u + 4) % 11), half - 20_000, duration_us - 20_000),
      ]
      with open(root / trial.replace(".aedat", "_labels.csv"), "w") as f:
        f.write("class,startTime_usec,endTime_usec\n")
        for cls, t0, t1 in spans:
          f.write(f"{cls},{t0},{t1}\n")
      for r, (cls, t0, t1) in enumerate(spans):
        truth[trial, r] = (cls, t0, t1, t, x, y, p)
  for split, trials in lists.items():
    (root / f"trials_to_{split}.txt").write_text("\n".join(trials) + "\n\n")
  return truth


def write_shd(path, n, seed, num_classes=20):
  """A small file in the official SHD layout (HDF5: ragged ``spikes/times`` and
  ``spikes/units``, ``labels``) of ``n`` examples; returns the labels. Needs ``h5py``.

  >>> import tempfile, os
  >>> path = os.path.join(tempfile.mkdtemp(), "shd_train.h5")
  >>> write_shd(path, 4, seed=0).shape
  (4,)
  """
  rng = np.random.default_rng(seed)
  import h5py

  with h5py.File(path, "w") as f:
    vf = h5py.vlen_dtype(np.dtype("float16"))
    vu = h5py.vlen_dtype(np.dtype("uint16"))
    times = f.create_dataset("spikes/times", (n,), dtype=vf)
    units = f.create_dataset("spikes/units", (n,), dtype=vu)
    labels = rng.integers(0, num_classes, n)
    for i in range(n):
      k = rng.integers(5, 40)
      times[i] = np.sort(rng.uniform(0, 1.3, k)).astype(np.float16)
      units[i] = rng.integers(0, 700, k).astype(np.uint16)
    f.create_dataset("labels", data=labels.astype(np.uint16))
    f.create_dataset("extra/speaker", data=np.zeros(n, np.uint16))
  return labels

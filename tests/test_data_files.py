"""Crafted and damaged data files: each is a clear error naming the file and field, or a cache
that is rebuilt; nothing wrong is read silently."""

import os
import time

import numpy as np
import pytest

from asgl_jax.data import aedat, cache, events, spike_trains, testing
from asgl_jax.data.arrays import ArrayDataset, split_validation

h5py = pytest.importorskip("h5py")

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


@pytest.mark.parametrize("content", [os.urandom(4096), PNG, b""])
def test_files_that_are_not_aedat_are_rejected(tmp_path, content):
  path = tmp_path / "rec.aedat"
  path.write_bytes(content)
  with pytest.raises(ValueError, match=r"rec.aedat: not an AEDAT 2.0 file"):
    aedat.read_aedat2_cifar10dvs(str(path))
  with pytest.raises(ValueError, match=r"rec.aedat: not an AEDAT 3.1 file"):
    aedat.read_aedat31_polarity(str(path))


def test_aedat31_coordinates_outside_the_sensor_are_an_error(tmp_path):
  path = tmp_path / "user01.aedat"
  testing.write_aedat31(
    path, np.array([3, 200]), np.array([5, 6]), np.array([0, 1]), np.array([1, 2])
  )
  with pytest.raises(ValueError, match=r"user01.aedat: polarity event x = 200 is outside"):
    aedat.read_aedat31_polarity(str(path))
  testing.write_aedat31(
    path, np.array([3, 4]), np.array([5, 6]), np.array([0, 1]), np.array([1, 2])
  )
  assert aedat.read_aedat31_polarity(str(path))["x"].tolist() == [3, 4]
  ev = {"t": np.arange(2), "x": np.array([0, 128]), "y": np.zeros(2, int), "p": np.zeros(2, int)}
  with pytest.raises(ValueError, match=r"x must be in \[0, 128\)"):
    aedat.events_to_frames(ev, num_frames=1)


@pytest.mark.parametrize(
  "row, what",
  [
    ("0,10000,20000", "class"),
    ("12,10000,20000", "class"),
    ("3,20000,10000", "class"),
    ("three,10000,20000", "could not convert"),
  ],
)
def test_gesture_label_files_out_of_range_name_the_file(tmp_path, row, what):
  testing.write_gesture(tmp_path)
  csv = tmp_path / "user01_fluorescent_labels.csv"
  csv.write_text("class,startTime_usec,endTime_usec\n" + row + "\n")
  with pytest.raises(ValueError, match=rf"user01_fluorescent_labels.csv: {what}"):
    events.load_dvs_gesture(str(tmp_path), num_frames=4, frame_size=32)


def test_aedat_files_without_events_or_an_ended_header_name_the_file(tmp_path):
  two = tmp_path / "cifar10_cat_0.aedat"
  two.write_bytes(b"#!AER-DAT2.0\r\n# header only\r\n")
  with pytest.raises(ValueError, match=r"cifar10_cat_0.aedat: no events"):
    aedat.read_aedat2_cifar10dvs(str(two))
  three = tmp_path / "user01.aedat"
  three.write_bytes(b"#!AER-DAT3.1\r\n#Format: RAW\r\n")
  with pytest.raises(ValueError, match=r"user01.aedat: no .*END-HEADER"):
    aedat.read_aedat31_polarity(str(three))


def _shd_labels(values):
  def mutate(f):
    del f["labels"]
    f.create_dataset("labels", data=np.asarray(values))

  return mutate


def _shd_first(times, units):
  def mutate(f):
    f["spikes/times"][0] = np.asarray(times, np.float16)
    f["spikes/units"][0] = np.asarray(units, np.uint16)

  return mutate


@pytest.mark.parametrize(
  "mutate, match",
  [
    (_shd_labels([20, 1, 2, 3, 4, 5]), r"labels in \[1, 20\], outside \[0, 20\)"),
    (_shd_labels([0.5, 1, 2, 3, 4, 5]), "one integer label per recording"),
    (_shd_labels([1, 2, 3]), "one integer label per recording"),
    (_shd_first([0.1, 0.2], [700, 1]), r"units in \[1, 700\], outside \[0, 700\)"),
    (_shd_first([float("nan"), 0.1], [1, 2]), "non-finite spike times"),
    (lambda f: f.__delitem__("labels"), "not an SHD file"),
    (None, "not an SHD file"),
  ],
)
def test_a_damaged_shd_file_is_an_error_naming_it(tmp_path, mutate, match):
  path = tmp_path / "shd_train.h5"
  testing.write_shd(path, 6, 0)
  if mutate is None:
    path.write_bytes(os.urandom(2048))
  else:
    with h5py.File(path, "a") as f:
      mutate(f)
  with pytest.raises(ValueError, match=rf"shd_train.h5: .*{match}"):
    spike_trains.load_shd_split(str(tmp_path), "train", num_steps=10, download=False)


@pytest.mark.parametrize("bad", [-1, 10, 25, 10**9])
def test_labels_outside_the_classes_are_an_error(bad):
  x = np.zeros((4, 3), np.float32)
  y = np.array([0, 1, 2, bad])
  with pytest.raises(
    ValueError, match=rf"split 'train' has labels in \[.*{bad}.*outside \[0, 10\)"
  ):
    ArrayDataset({"train": (x, y), "test": (x, y[:3].repeat(2)[:4] % 10)}, 10, name="crafted")


def test_bin_spikes_saturates_and_rejects_units_and_times_out_of_range():
  c = spike_trains.bin_spikes(
    [np.full(300, 0.1), np.array([0.1])],
    [np.zeros(300, int), [2]],
    num_steps=2,
    num_channels=3,
    max_time=1.0,
  )
  assert c[0, 0, 0] == 255 and c[1, 0, 2] == 1  # 300 spikes saturate; they do not wrap to 44
  kw = dict(num_steps=2, num_channels=3, max_time=1.0)
  with pytest.raises(ValueError, match=r"recording 1 has units in \[0, 3\], outside \[0, 3\)"):
    spike_trains.bin_spikes([[0.1], [0.1, 0.2]], [[0], [0, 3]], **kw)
  with pytest.raises(ValueError, match="recording 0 has negative or non-finite"):
    spike_trains.bin_spikes([[np.nan]], [[0]], **kw)
  with pytest.raises(ValueError, match="recording 0 has times"):
    spike_trains.bin_spikes([[0.1, 0.2]], [[0]], **kw)


@pytest.mark.parametrize("fraction", [-0.9, 1.0, 1.5])
def test_a_validation_fraction_outside_0_1_is_an_error(fraction):
  with pytest.raises(ValueError, match="fraction must be in"):
    split_validation(20, fraction, 0)


def test_shd_cache_follows_the_raw_file_and_survives_damage(tmp_path, capsys):
  testing.write_shd(tmp_path / "shd_train.h5", 6, 0)
  kw = dict(num_steps=20, download=False)
  x1, _ = spike_trains.load_shd_split(str(tmp_path), "train", **kw)
  assert x1.shape[0] == 6
  (cached,) = tmp_path.glob("shd_train_*.npz")
  # the raw data change: a stale cache is not used
  time.sleep(0.01)
  testing.write_shd(tmp_path / "shd_train.h5", 9, 1)
  x2, y2 = spike_trains.load_shd_split(str(tmp_path), "train", **kw)
  assert x2.shape[0] == 9 and "changed since it was built" in capsys.readouterr().err
  # a truncated cache (a killed copy) is rebuilt, with a message
  cached.write_bytes(cached.read_bytes()[:100])
  x3, _ = spike_trains.load_shd_split(str(tmp_path), "train", **kw)
  np.testing.assert_array_equal(x3, x2)
  assert "unreadable" in capsys.readouterr().err
  # a cache with arrays of the wrong shape is rebuilt
  settings = {"num_steps": 20, "max_time": 1.4}
  raw = [str(tmp_path / "shd_train.h5")]
  cache.save(str(cached), {"spikes": x2[:, :5], "labels": y2}, sources=raw, settings=settings)
  x4, _ = spike_trains.load_shd_split(str(tmp_path), "train", **kw)
  np.testing.assert_array_equal(x4, x2)
  assert "wrong contents" in capsys.readouterr().err
  # once built, the raw file may go: the cache is used
  os.remove(tmp_path / "shd_train.h5")
  np.testing.assert_array_equal(spike_trains.load_shd_split(str(tmp_path), "train", **kw)[0], x2)


def test_a_killed_cache_write_or_extraction_leaves_nothing_behind(tmp_path, monkeypatch):
  def killed(f, **arrays):
    f.write(b"PK\x03\x04 half an archive")
    raise KeyboardInterrupt

  monkeypatch.setattr(np, "savez", killed)
  with pytest.raises(KeyboardInterrupt):
    cache.save(str(tmp_path / "c.npz"), {"a": np.zeros(3)}, sources=[], settings={})
  assert list(tmp_path.iterdir()) == []
  monkeypatch.undo()
  (tmp_path / "shd_test.h5.gz").write_bytes(b"\x1f\x8b\x08\x00 not really gzip")
  with pytest.raises(ValueError, match=r"SHD: cannot extract .*shd_test.h5.gz"):
    spike_trains.load_shd_split(str(tmp_path), "test", download=False)
  assert sorted(p.name for p in tmp_path.iterdir()) == ["shd_test.h5.gz"]  # no half .h5


def test_a_damaged_aedat2_body_is_an_error(tmp_path):
  path = tmp_path / "cifar10_cat_0.aedat"
  testing.write_aedat2(path, [1, 2], [3, 4], [0, 1], [10, 20])
  path.write_bytes(path.read_bytes() + b"\x00\x01\x02")  # not a whole 8-byte event
  with pytest.raises(ValueError, match=r"cifar10_cat_0.aedat: .* not a whole number"):
    aedat.read_aedat2_cifar10dvs(str(path))

"""Event-camera loaders on small files written in the datasets' real formats."""

import math
import sys
import types

import numpy as np
import pytest
from main_runner import run_main

from asgl_jax import data
from asgl_jax.data import aedat, events, testing

# ----------------------------------------------------------------------------- readers


def test_aedat2_reader_decodes_and_orients_as_spikingjelly(tmp_path):
  rng = np.random.default_rng(0)
  n = 100
  x, y, p = rng.integers(0, 128, n), rng.integers(0, 128, n), rng.integers(0, 2, n)
  t = np.sort(rng.integers(0, 2**32 - 1, n))
  testing.write_aedat2(tmp_path / "a.aedat", x, y, p, t)
  ev = aedat.read_aedat2_cifar10dvs(str(tmp_path / "a.aedat"))
  np.testing.assert_array_equal(ev["t"], t)
  np.testing.assert_array_equal(ev["x"], 127 - y)
  np.testing.assert_array_equal(ev["y"], 127 - x)
  np.testing.assert_array_equal(ev["p"], 1 - p)


def test_aedat31_reader_skips_invalid_and_special_events_and_applies_overflow(tmp_path):
  rng = np.random.default_rng(1)
  n = 120
  x, y, p = rng.integers(0, 128, n), rng.integers(0, 128, n), rng.integers(0, 2, n)
  t = np.sort(rng.integers(0, 10**6, n))
  t[100:] += 2**31  # the last packets are past the 31-bit wrap
  testing.write_aedat31(tmp_path / "g.aedat", x, y, p, t, invalid={3, 77}, packet=50)
  ev = aedat.read_aedat31_polarity(str(tmp_path / "g.aedat"))
  keep = np.setdiff1d(np.arange(n), [3, 77])
  np.testing.assert_array_equal(ev["t"], t[keep])
  np.testing.assert_array_equal(ev["x"], x[keep])
  np.testing.assert_array_equal(ev["y"], y[keep])
  np.testing.assert_array_equal(ev["p"], p[keep])
  with open(tmp_path / "bad.aedat", "wb") as f:
    f.write(b"#!AER-DAT3.1\r\n")
  with pytest.raises(ValueError, match="END-HEADER"):
    aedat.read_aedat31_polarity(str(tmp_path / "bad.aedat"))


# ----------------------------------------------------------------------------- framing


def test_events_to_frames_by_hand():
  # 7 events, T = 3 by number: ⌊7/3⌋ = 2 per frame, the last frame takes the remaining 3.
  ev = {
    "t": np.array([0, 1, 2, 3, 4, 5, 100]),
    "x": np.array([0, 0, 5, 5, 1, 1, 1]),
    "y": np.array([0, 0, 6, 6, 2, 2, 3]),
    "p": np.array([0, 0, 1, 0, 1, 1, 0]),
  }
  f = aedat.events_to_frames(ev, num_frames=3)
  assert f.shape == (3, 128, 128, 2) and f.sum() == 7
  assert f[0, 0, 0, 0] == 2
  assert f[1, 6, 5, 1] == 1 and f[1, 6, 5, 0] == 1
  assert f[2, 2, 1, 1] == 2 and f[2, 3, 1, 0] == 1
  # by time: span 100 µs cut in 3 → t < 33.3 in frame 0, t = 100 in frame 2.
  g = aedat.events_to_frames(ev, num_frames=3, split_by="time")
  assert g[0].sum() == 6 and g[1].sum() == 0 and g[2, 3, 1, 0] == 1
  with pytest.raises(ValueError, match="split_by"):
    aedat.events_to_frames(ev, num_frames=3, split_by="count")


def test_area_resize():
  r = aedat.area_resize_matrix(128, 48)
  np.testing.assert_allclose(r.sum(axis=1), 1.0)  # each output pixel is an average
  np.testing.assert_allclose(r.sum(axis=0), 48 / 128)  # each input pixel is spread fully
  x = np.arange(4 * 4 * 2, dtype=np.float32).reshape(1, 4, 4, 2)
  want = x.reshape(1, 2, 2, 2, 2, 2).mean(axis=(2, 4))  # 2×2 block means
  np.testing.assert_allclose(aedat.resize_frames(x, 2), want, rtol=1e-6)


def test_flip_and_roll_is_a_circular_shift_of_a_maybe_flipped_clip():
  rng = np.random.default_rng(0)
  x = rng.uniform(size=(16, 3, 12, 12, 2)).astype(np.float32)
  y = events.flip_and_roll(x, data.ExampleRNG(np.arange(16)), max_roll=2)
  shifts = [(a, b) for a in range(-2, 3) for b in range(-2, 3)]
  flips = 0
  for xi, yi in zip(x, y):
    hits = [
      (fl, s)
      for fl in (False, True)
      for s in shifts
      if np.array_equal(np.roll(xi[:, :, ::-1] if fl else xi, s, axis=(1, 2)), yi)
    ]
    assert len(hits) == 1
    flips += hits[0][0]
  assert 0 < flips < 16


# ----------------------------------------------------------------------------- DVS-CIFAR10


def test_release_frame_values_are_the_uint8_wraparound_of_255_n():
  n = np.arange(0, 600)
  as_bytes = (n * 255).astype(np.int64) & 0xFF  # float n·255 cast to uint8 (wraps mod 256)
  np.testing.assert_allclose(aedat.frame_values(n, "release"), as_bytes / 255.0, rtol=1e-6)
  assert aedat.frame_values(n, "release")[1:256].min() == 1 / 255  # n = 255 → 1/255, not 0
  assert (aedat.frame_values(n, "release")[1:200] > 0.2).all()  # near-binary for n < 204


def test_dvs_cifar10_loader_split_frames_and_cache(tmp_path):
  counts = testing.write_cifar10dvs(tmp_path, 10, zip_classes=("bird",))
  ds = events.load_dvs_cifar10(str(tmp_path), num_frames=4, size=16, validation_fraction=0.2)
  x, y = ds.splits["test"]
  assert x.shape == (10, 4, 16, 16, 2) and x.dtype == np.float16
  np.testing.assert_array_equal(y, np.arange(10))  # recording 9 of each class is the test one
  # The area resize keeps each frame's event count times (16/128)^2.
  for c, name in enumerate(events.CIFAR10DVS_CLASSES):
    np.testing.assert_allclose(
      x[c].astype(np.float64).sum(), counts[name, 9] * (16 / 128) ** 2, rtol=1e-2
    )
  assert ds.num_examples("train") == 72 and ds.num_examples("validation") == 18
  assert (
    np.bincount(np.concatenate([ds.splits["train"][1], ds.splits["validation"][1]])).tolist()
    == [9] * 10
  )
  b = ds.train_batch(seed=0, epoch=0, index=0, batch_size=8)
  assert b["image"].shape == (8, 4, 16, 16, 2)
  # The released code's frames: count n becomes (255·n mod 256)/255 (uint8 wrap-around).
  full = events.load_dvs_cifar10(str(tmp_path), num_frames=4, size=128).splits["test"][0]
  rel = events.load_dvs_cifar10(str(tmp_path), num_frames=4, size=128, frames="release")
  want = aedat.frame_values(full.astype(np.int64), "release")
  np.testing.assert_allclose(rel.splits["test"][0].astype(np.float64), want, atol=1e-3)
  with pytest.raises(ValueError, match="frames must be one of"):
    events.load_dvs_cifar10(str(tmp_path), frames="binary")
  # Cached: the raw files are no longer needed.
  for name in events.CIFAR10DVS_CLASSES:
    for f in (tmp_path / name).iterdir():
      f.unlink()
  again = events.load_dvs_cifar10(str(tmp_path), num_frames=4, size=16, validation_fraction=0.2)
  np.testing.assert_array_equal(again.splits["test"][0], x)
  with pytest.raises(FileNotFoundError, match="download=False"):
    events.load_dvs_cifar10(str(tmp_path / "none"), download=False)


# ----------------------------------------------------------------------------- DVS128 Gesture


def test_dvs_gesture_loader_samples_clips_and_rcs(tmp_path):
  truth = testing.write_gesture(tmp_path / "DvsGesture")
  ds = events.load_dvs_gesture(
    str(tmp_path), num_frames=5, frame_ms=25.0, frame_size=32, validation_fraction=0.0
  )
  clips, y = ds.splits["test"]
  assert len(y) == 2 and ds.num_classes == 11
  (cls, t0, t1, t, x, yy, p) = truth["user03_fluorescent.aedat", 0]
  assert y[0] == cls - 1
  assert clips.num_bins[0] == math.ceil((t1 - t0) / 25_000)
  batch = next(ds.eval_batches("test", 3))
  assert batch["image"].shape == (3, 5, 32, 32, 2) and batch["mask"].tolist() == [True, True, False]
  # Evaluation clip = the first 5 × 25 ms of the span, pixels summed in 4×4 blocks.
  want = np.zeros((5, 32, 32, 2))
  sel = (t >= t0) & (t < t0 + 5 * 25_000)
  np.add.at(want, ((t[sel] - t0) // 25_000, yy[sel] // 4, x[sel] // 4, p[sel]), 1)
  np.testing.assert_array_equal(batch["image"][0], want)
  # Training clips start at random frames (RCS) and hold 25 events each (1 kHz × 25 ms).
  starts = set()
  for i in range(4):
    b = ds.train_batch(seed=0, epoch=i, index=0, batch_size=4)
    assert b["image"].shape == (4, 5, 32, 32, 2)
    for clip in b["image"]:
      assert clip.reshape(5, -1).sum(axis=1).tolist() == [25] * 5
      starts.add(clip.tobytes())
  assert len(starts) > 4
  # The paper's split: 9:1 of all samples.
  paper = events.load_dvs_gesture(str(tmp_path), num_frames=5, split="paper", validation_fraction=0)
  assert paper.num_examples("train") == 5 and paper.num_examples("test") == 1
  # The paper's protocol puts a held-out validation split back into training.
  held = events.load_dvs_gesture(
    str(tmp_path), num_frames=5, frame_size=32, validation_fraction=0.5
  )
  merged = held.without_validation()
  assert held.has_split("validation") and not merged.has_split("validation")
  assert merged.num_examples("train") == ds.num_examples("train") and merged.num_frames == 5
  assert merged.train_batch(seed=0, epoch=0, index=0, batch_size=2)["image"].shape[1] == 5
  with pytest.raises(FileNotFoundError, match="DvsGesture.tar.gz"):
    events.load_dvs_gesture(str(tmp_path / "none"))
  with pytest.raises(ValueError, match="frame_size"):
    events.load_dvs_gesture(str(tmp_path), frame_size=48)


def test_dvs_gesture_tonic_source_reads_tonic_events(tmp_path, monkeypatch):
  """tonic's DVSGesture yields structured events (x, y, p, t [µs]) and a 0-based label."""
  dtype = np.dtype([("x", np.int16), ("y", np.int16), ("p", bool), ("t", np.int64)])

  class FakeDVSGesture:
    def __init__(self, save_to, train=True):
      assert save_to == str(tmp_path)
      self.n = 3 if train else 2

    def __len__(self):
      return self.n

    def __getitem__(self, i):
      ev = np.zeros(100, dtype)
      ev["t"] = 5_000 + np.arange(100) * 1000
      ev["x"], ev["y"], ev["p"] = i, 2 * i, True
      return ev, i + 1

  fake = types.ModuleType("tonic")
  fake.datasets = types.SimpleNamespace(DVSGesture=FakeDVSGesture)
  monkeypatch.setitem(sys.modules, "tonic", fake)
  ds = events.load_dvs_gesture(str(tmp_path), num_frames=4, source="tonic", validation_fraction=0)
  clips, y = ds.splits["train"]
  assert y.tolist() == [1, 2, 3] and clips.num_bins.tolist() == [4, 4, 4]
  b = next(ds.eval_batches("train", 3))
  assert b["image"][2, :, 4, 2, 1].tolist() == [25, 25, 25, 25]


# ----------------------------------------------------------------------------- mains


def _run_main(module, config, data, workdir, *extra):
  return run_main(
    module,
    config,
    workdir,
    f"--config.dataset.data_dir={data}",
    "--config.model.name=dvs_tiny",
    "--config.batch_size=4",
    "--config.num_train_steps=2",
    "--config.analysis_examples=4",
    *extra,
  )


def test_dvs_cifar10_main_on_generated_recordings(tmp_path):
  testing.write_cifar10dvs(tmp_path / "data", 10)
  s = _run_main(
    "experiments.dvs_cifar10",
    "experiments/configs/dvs_cifar10.py",
    tmp_path / "data",
    tmp_path / "run",
    "--config.time_steps=3",
    "--config.dataset.size=16",
    "--config.model.kwargs.input_size=16",
    "--config.dataset.download=False",
  )
  assert s["steps"] == 2 and s["num_classes"] == 10


def test_dvs_gesture_main_on_generated_recordings(tmp_path):
  testing.write_gesture(tmp_path / "data", users_train=(1, 2, 4, 5), users_test=(3,))
  s = _run_main(
    "experiments.dvs_gesture",
    "experiments/configs/dvs_gesture.py",
    tmp_path / "data",
    tmp_path / "run",
    "--config.time_steps=4",
    "--config.dataset.frame_size=16",
    "--config.model.kwargs.input_size=16",
  )
  assert s["steps"] == 2 and s["num_classes"] == 11


def test_event_mains_name_themselves_in_their_messages(tmp_path):
  from main_runner import run_python

  r = run_python(
    [
      "-m",
      "experiments.dvs_cifar10",
      "--config=experiments/configs/dvs_cifar10.py",
      f"--workdir={tmp_path / 'run'}",
      f"--config.dataset.data_dir={tmp_path / 'none'}",
      "--config.dataset.download=False",
    ]
  )
  assert r.returncode == 2, r.stderr[-2000:]
  assert "\nexperiments.dvs_cifar10: DVS-CIFAR10: neither" in "\n" + r.stderr
  assert "experiments.shd" not in r.stderr

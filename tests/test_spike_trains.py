"""Spike-train data: binning, the SHD loader on files in the real HDF5 layout, Randman."""

import gzip
import json
import os
import shutil
import zipfile

import numpy as np
import pytest
from main_runner import run_main

from asgl_jax.data import spike_trains, testing

h5py = pytest.importorskip("h5py")


def test_bin_spikes_by_hand():
  times = [np.array([0.0, 0.05, 0.051, 0.99, 1.0]), np.array([0.5])]
  units = [np.array([0, 1, 1, 2, 2]), np.array([3])]
  out = spike_trains.bin_spikes(times, units, num_steps=10, num_channels=4, max_time=1.0)
  assert out.shape == (2, 10, 4)
  assert out[0, 0, 0] == 1 and out[0, 0, 1] == 2  # 0.05 and 0.051 share bin 0
  assert out[0, 9, 2] == 1  # 0.99 → bin 9; 1.0 is past max_time and dropped
  assert out[0].sum() == 4 and out[1, 5, 3] == 1 and out[1].sum() == 1


def test_shd_loader_reads_the_real_layout_and_caches(tmp_path):
  testing.write_shd(tmp_path / "shd_train.h5", 30, 0)
  # the test split arrives as the zipped download would
  testing.write_shd(tmp_path / "shd_test.h5", 10, 1)
  with zipfile.ZipFile(tmp_path / "shd_test.h5.zip", "w") as z:
    z.write(tmp_path / "shd_test.h5", "shd_test.h5")
  os.remove(tmp_path / "shd_test.h5")
  ds = spike_trains.load_shd(str(tmp_path), num_steps=50, max_time=1.4, download=False)
  assert ds.num_examples("train") + ds.num_examples("validation") == 30
  assert ds.num_examples("test") == 10 and ds.num_classes == 20
  x, y = ds.splits["test"]
  assert x.shape == (10, 50, 700) and x.dtype == np.uint8
  with h5py.File(tmp_path / "shd_test.h5", "r") as f:
    t0, u0 = f["spikes/times"][0], f["spikes/units"][0]
    np.testing.assert_array_equal(y, f["labels"][:])
  expected = spike_trains.bin_spikes([t0], [u0], num_steps=50, num_channels=700, max_time=1.4)[0]
  np.testing.assert_array_equal(x[0], expected)
  assert (tmp_path / "shd_test_T50_1.4s.npz").exists()
  os.remove(tmp_path / "shd_test.h5")  # the cache is used from now on
  x2, _ = spike_trains.load_shd_split(
    str(tmp_path), "test", num_steps=50, max_time=1.4, download=False
  )
  np.testing.assert_array_equal(x2, x)


def test_shd_gz_and_missing(tmp_path):
  testing.write_shd(tmp_path / "plain.h5", 3, 2)
  with (
    open(tmp_path / "plain.h5", "rb") as src,
    gzip.open(tmp_path / "shd_train.h5.gz", "wb") as dst,
  ):
    shutil.copyfileobj(src, dst)
  x, _ = spike_trains.load_shd_split(str(tmp_path), "train", num_steps=10, download=False)
  assert x.shape == (3, 10, 700)
  with pytest.raises(FileNotFoundError, match=r"shd_test.h5.*randman"):
    spike_trains.load_shd_split(str(tmp_path), "test", download=False)


def test_randman_one_spike_per_channel_balanced_and_seeded():
  ds = spike_trains.make_randman(
    num_classes=4, channels=20, num_steps=30, samples_per_class=50, seed=3
  )
  x = np.concatenate([ds.splits[s][0] for s in ("train", "validation", "test")])
  y = np.concatenate([ds.splits[s][1] for s in ("train", "validation", "test")])
  assert x.shape == (200, 30, 20)
  np.testing.assert_array_equal(x.sum(axis=1), 1)  # each channel fires exactly once
  assert np.all(np.bincount(y) == 50)
  again = spike_trains.make_randman(
    num_classes=4, channels=20, num_steps=30, samples_per_class=50, seed=3
  )
  np.testing.assert_array_equal(again.splits["train"][0], ds.splits["train"][0])
  other = spike_trains.make_randman(
    num_classes=4, channels=20, num_steps=30, samples_per_class=50, seed=4
  )
  assert not np.array_equal(other.splits["train"][0], ds.splits["train"][0])


def test_randman_training_loss_decreases(tmp_path):
  from asgl_jax import train
  from experiments.configs import randman

  config = randman.get_config()
  config.dataset.samples_per_class = 100
  config.num_epochs = 6
  config.batch_size = 16
  config.analysis_examples = 0
  ds = spike_trains.make_randman(
    num_classes=10, channels=100, num_steps=100, samples_per_class=100, seed=config.dataset.seed
  )
  train.train_and_evaluate(config, str(tmp_path), ds)
  hist = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
  losses = [r["train_loss"] for r in hist]
  assert losses[-1] < losses[0] - 0.1, losses


def test_shd_main_on_generated_files(tmp_path):
  data = tmp_path / "data"
  data.mkdir()
  testing.write_shd(data / "shd_train.h5", 40, 0)
  testing.write_shd(data / "shd_test.h5", 12, 1)
  s = run_main(
    "experiments.shd",
    "experiments/configs/shd.py",
    tmp_path / "run",
    f"--config.dataset.data_dir={data}",
    "--config.dataset.download=False",
    "--config.batch_size=8",
    "--config.num_train_steps=2",
    "--config.time_steps=20",
  )
  assert s["steps"] == 2 and s["num_classes"] == 20


def _write_spikegrams(d, n, t, c=384, classes=10, seed=0):
  rng = np.random.default_rng(seed)
  for split, m in (("train", n), ("test", n // 2)):
    np.savez(
      d / f"{split}.npz",
      spikes=(rng.uniform(size=(m, t, c)) < 0.05),
      labels=np.arange(m) % classes,  # every class present
    )


def test_spikegram_loader_format_and_errors(tmp_path):
  _write_spikegrams(tmp_path, 20, 12)
  ds = spike_trains.load_spikegrams(str(tmp_path), num_steps=12)
  assert ds.splits["test"][0].shape == (10, 12, 384) and ds.splits["test"][0].dtype == np.uint8
  assert ds.num_examples("train") + ds.num_examples("validation") == 20
  with pytest.raises(ValueError, match=r"\[N, 30, 384\]"):
    spike_trains.load_spikegrams(str(tmp_path), num_steps=30)
  with pytest.raises(FileNotFoundError, match="train.npz"):
    spike_trains.load_spikegrams(str(tmp_path / "none"), num_steps=12)


def test_medlydb_main_on_generated_spikegrams(tmp_path):
  data = tmp_path / "data"
  data.mkdir()
  _write_spikegrams(data, 16, 20)
  s = run_main(
    "experiments.medlydb",
    "experiments/configs/medlydb.py",
    tmp_path / "run",
    f"--config.dataset.data_dir={data}",
    "--config.batch_size=4",
    "--config.num_train_steps=2",
    "--config.time_steps=20",
    "--config.analysis_examples=4",
  )
  assert s["steps"] == 2 and s["num_classes"] == 10 and "energy_ratio" in s

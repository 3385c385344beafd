"""Data: the bundled MNIST subset, tfds pipelines on mock data, the Tiny-ImageNet builder."""

import os
import zipfile

import numpy as np
import pytest

from asgl_jax import data

tf = pytest.importorskip("tensorflow")
tfds = pytest.importorskip("tensorflow_datasets")

from asgl_jax.data import image_pipelines  # noqa: E402


def test_mnist_subset_splits_are_disjoint_and_stratified():
  ds = data.load_mnist_subset(val_per_class=50, test_per_class=50)
  sizes = {k: len(v[1]) for k, v in ds.splits.items()}
  assert sizes == {"train": 4000, "validation": 500, "test": 500}
  for split in ("validation", "test"):
    assert np.all(np.bincount(ds.splits[split][1]) == 50)
  rows = {k: {x.tobytes() for x in v[0]} for k, v in ds.splits.items()}
  assert not rows["train"] & rows["test"] and not rows["validation"] & rows["test"]
  b1 = ds.train_batch(seed=0, epoch=3, index=5, batch_size=16)
  b2 = ds.train_batch(seed=0, epoch=3, index=5, batch_size=16)
  np.testing.assert_array_equal(b1["image"], b2["image"])
  assert b1["image"].shape == (16, 28, 28, 1)


def test_random_translate_shifts_by_at_most_max_shift():
  img = np.zeros((1, 9, 9, 1), np.float32)
  img[0, 4, 4, 0] = 1
  seen = set()
  for k in range(60):
    out = data.random_translate(img, data.ExampleRNG(np.array([k])), 2)
    y, x = np.argwhere(out[0, :, :, 0] == 1)[0]
    assert abs(y - 4) <= 2 and abs(x - 4) <= 2
    seen.add((y, x))
  assert len(seen) > 15  # most of the 25 offsets occur


def test_example_rng_is_uniform_and_each_row_depends_only_on_its_key():
  from asgl_jax.data.arrays import example_keys

  keys = example_keys(3, 1, np.arange(20_000))
  rng = data.ExampleRNG(keys)
  u, k = rng.random(), rng.integers(-2, 3, (2,))
  # Uniform: mean 1/2, variance 1/12 (standard errors 0.002 and 0.0006 at 20k samples).
  assert abs(u.mean() - 0.5) < 0.01 and abs(u.var() - 1 / 12) < 0.003
  counts = np.bincount((k + 2).ravel(), minlength=5)
  assert counts.min() > 0.18 * k.size and counts.max() < 0.22 * k.size
  assert abs(np.corrcoef(k[:, 0], k[:, 1])[0, 1]) < 0.03  # the two columns independent
  part = data.ExampleRNG(keys[[7, 123, 19_999]])
  np.testing.assert_array_equal(part.random(), u[[7, 123, 19_999]])
  np.testing.assert_array_equal(part.integers(-2, 3, (2,)), k[[7, 123, 19_999]])
  assert not np.array_equal(example_keys(3, 2, np.arange(5)), keys[:5])  # epochs differ
  with pytest.raises(ValueError, match="high > low"):
    rng.integers(2, 2)


def test_rows_of_a_batch_equal_the_same_rows_of_the_whole_batch():
  ds = data.load_mnist_subset(max_shift=2)
  whole = ds.train_batch(seed=4, epoch=2, index=3, batch_size=16)
  for rows in (slice(0, 4), slice(4, 12), slice(12, 16)):
    part = ds.train_batch(seed=4, epoch=2, index=3, batch_size=16, rows=rows)
    for k in whole:
      np.testing.assert_array_equal(part[k], whole[k][rows])
  evals = list(ds.eval_batches("test", 96))  # 500 = 5 × 96 + 20: the last batch is padded
  for rows in (slice(0, 48), slice(48, 96)):
    parts = list(ds.eval_batches("test", 96, rows=rows))
    for p, w in zip(parts, evals, strict=True):
      for k in w:
        np.testing.assert_array_equal(p[k], w[k][rows])
  assert parts[-1]["mask"].sum() == 0  # rows 48–95 of the last batch are all padding
  with pytest.raises(ValueError, match="non-empty slice"):
    ds.train_batch(seed=0, epoch=0, index=0, batch_size=8, rows=slice(4, 12))


def test_cifar_pipeline_on_mock_data_is_deterministic_and_resumable():
  with tfds.testing.mock_data(num_examples=40):
    p = image_pipelines.ImagePipeline("cifar10", validation_size=8)
    assert (p.num_examples("train"), p.num_examples("validation")) == (32, 8)
    b0 = p.train_batch(seed=1, epoch=0, index=0, batch_size=8)
    b1 = p.train_batch(seed=1, epoch=0, index=1, batch_size=8)
    assert b0["image"].shape == (8, 32, 32, 3) and b0["image"].dtype == np.float32
    fresh = image_pipelines.ImagePipeline("cifar10", validation_size=8)
    np.testing.assert_array_equal(
      fresh.train_batch(seed=1, epoch=0, index=1, batch_size=8)["image"], b1["image"]
    )
    other = fresh.train_batch(seed=1, epoch=1, index=1, batch_size=8)
    assert not np.array_equal(other["image"], b1["image"])
    batches = list(p.eval_batches("test", 16))
    assert [int(b["mask"].sum()) for b in batches] == [16, 16, 8]
    whole = p.without_validation()  # the paper's protocol: all 40 examples train
    assert whole.num_examples("train") == 40 and not whole.has_split("validation")
    assert all(b["image"].shape == (16, 32, 32, 3) for b in batches)
    # A process's rows of each batch are those rows of the whole batch, from any position.
    for rows in (slice(0, 4), slice(4, 8)):
      part = image_pipelines.ImagePipeline("cifar10", validation_size=8)
      got = part.train_batch(seed=1, epoch=0, index=1, batch_size=8, rows=rows)
      np.testing.assert_array_equal(got["image"], b1["image"][rows])
      np.testing.assert_array_equal(got["label"], b1["label"][rows])
      for w, g in zip(batches, part.eval_batches("test", 16, rows=slice(8, 16)), strict=True):
        np.testing.assert_array_equal(g["mask"], w["mask"][8:])
        np.testing.assert_allclose(g["image"], w["image"][8:], rtol=0, atol=0)


def test_cutout_hole_is_black_before_normalisation_as_released():
  with tfds.testing.mock_data(num_examples=16):
    p = image_pipelines.ImagePipeline(
      "cifar10", validation_size=0, augment=False, autoaugment=False, cutout=16
    )
    b = p.train_batch(seed=0, epoch=0, index=0, batch_size=8)
  black = (0.0 - p._mean) / p._std  # a zero pixel, normalised
  hole = np.all(np.isclose(b["image"], black, atol=1e-6), axis=-1)
  # The hole is ≥ 8 × 8 wherever its centre falls (16 × 16, clipped at the border).
  assert all(h.sum() >= 64 for h in hole)
  assert not np.any(np.all(b["image"] == 0.0, axis=-1).sum(axis=(1, 2)) >= 64)


def test_missing_dataset_error_says_where_and_how(tmp_path):
  with pytest.raises(image_pipelines.DatasetUnavailableError) as e:
    image_pipelines.ImagePipeline("cifar100", data_dir=str(tmp_path), download=False)
  msg = str(e.value)
  assert "cifar100" in msg and str(tmp_path) in msg and "download_and_prepare" in msg
  assert "experiments.mnist" in msg
  with pytest.raises(ValueError, match="cifar10"):
    image_pipelines.ImagePipeline("svhn")


def _write_tiny_imagenet_zip(path, wnids=("n01443537", "n09999999"), per_class=3):
  from PIL import Image

  rng = np.random.default_rng(0)
  root = path / "src" / "tiny-imagenet-200"
  (root / "val" / "images").mkdir(parents=True)
  (root / "test" / "images").mkdir(parents=True)
  (root / "wnids.txt").write_text("\n".join(reversed(wnids)) + "\n")
  ann = []
  for w in wnids:
    d = root / "train" / w / "images"
    d.mkdir(parents=True)
    (root / "train" / w / f"{w}_boxes.txt").write_text("")
    for i in range(per_class):
      Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(d / f"{w}_{i}.JPEG")
  for i, w in enumerate(wnids * 2):
    mode_img = rng.integers(0, 255, (64, 64), dtype=np.uint8)  # greyscale, as some real files are
    Image.fromarray(mode_img).save(root / "val" / "images" / f"val_{i}.JPEG")
    ann.append(f"val_{i}.JPEG\t{w}\t0\t0\t63\t63")
  (root / "val" / "val_annotations.txt").write_text("\n".join(ann) + "\n")
  Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(
    root / "test" / "images" / "test_0.JPEG"
  )
  manual = path / "manual"
  manual.mkdir()
  with zipfile.ZipFile(manual / "tiny-imagenet-200.zip", "w") as z:
    for dirpath, _, files in os.walk(path / "src"):
      for f in files:
        full = os.path.join(dirpath, f)
        z.write(full, os.path.relpath(full, path / "src"))
  return manual


def test_tiny_imagenet_builder_on_a_small_archive_in_the_real_layout(tmp_path):
  from asgl_jax.data import tiny_imagenet

  manual = _write_tiny_imagenet_zip(tmp_path)
  builder = tiny_imagenet.TinyImagenet(data_dir=str(tmp_path / "tfds"))
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(manual)))
  assert builder.info.splits["train"].num_examples == 6
  assert builder.info.splits["validation"].num_examples == 4
  train = list(tfds.as_numpy(builder.as_dataset(split="train")))
  labels = {ex["wnid"].decode(): int(ex["label"]) for ex in train}
  assert labels == {"n01443537": 0, "n09999999": 1}  # sorted WordNet ids
  val = list(tfds.as_numpy(builder.as_dataset(split="validation")))
  assert all(ex["image"].shape == (64, 64, 3) for ex in val)
  # the pipeline reads it through the registered name
  p = image_pipelines.ImagePipeline(
    "tiny_imagenet",
    data_dir=str(tmp_path / "tfds"),
    validation_size=2,
    autoaugment=False,
    cutout=0,
    download=False,
  )
  b = p.train_batch(seed=0, epoch=0, index=0, batch_size=2)
  assert b["image"].shape == (2, 64, 64, 3)
  assert p.num_examples("test") == 4


@pytest.fixture
def http_folder(tmp_path):
  """A folder served over HTTP on 127.0.0.1 (a stand-in for a dataset's host)."""
  import functools
  import http.server
  import threading

  served = tmp_path / "served"
  served.mkdir()
  handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
  handler.log_message = lambda *a: None
  server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
  thread = threading.Thread(target=server.serve_forever, daemon=True)
  thread.start()
  yield served, f"http://127.0.0.1:{server.server_address[1]}/"
  server.shutdown()
  server.server_close()


def test_fetch_keeps_only_a_download_whose_md5_matches(http_folder, tmp_path):
  import hashlib

  from asgl_jax.data import downloads

  served, url = http_folder
  (served / "shd_test.h5.zip").write_bytes(b"recorded spikes")
  good = hashlib.md5(b"recorded spikes").hexdigest()
  dest = tmp_path / "data" / "shd_test.h5.zip"
  kw = dict(dataset="SHD", manual="put it in data/")
  with pytest.raises(ValueError, match="wrong MD5"):
    downloads.fetch(url + "shd_test.h5.zip", str(dest), md5="0" * 32, **kw)
  assert not dest.exists()  # a mismatching file is never kept
  assert downloads.fetch(url + "shd_test.h5.zip", str(dest), md5=good, **kw) == str(dest)
  assert dest.read_bytes() == b"recorded spikes"
  with pytest.raises(FileNotFoundError, match="put it in data/"):
    downloads.fetch(url + "missing.zip", str(tmp_path / "missing.zip"), md5=good, **kw)


def test_an_unreachable_host_fails_in_seconds_before_any_download(monkeypatch, tmp_path):
  import socket
  import time

  import pooch

  from asgl_jax.data import downloads, image_pipelines

  def no_network(address, timeout=None):
    assert timeout is not None and timeout <= 5  # never the OS's minutes-long default
    raise OSError(101, "Network is unreachable")

  monkeypatch.setattr(socket, "create_connection", no_network)
  monkeypatch.setattr(pooch, "retrieve", lambda *a, **kw: pytest.fail("download attempted"))
  t0 = time.perf_counter()
  with pytest.raises(FileNotFoundError, match="cannot reach zenkelab.org.*download=False"):
    downloads.fetch(
      "https://zenkelab.org/datasets/x.zip",
      str(tmp_path / "x.zip"),
      md5="0" * 32,
      dataset="SHD",
      manual="",
    )
  tfds = pytest.importorskip("tensorflow_datasets")
  monkeypatch.setattr(
    tfds.core.DatasetBuilder, "download_and_prepare", lambda *a, **k: pytest.fail("tfds download")
  )
  with pytest.raises(image_pipelines.DatasetUnavailableError, match="cannot reach www.cs.toronto"):
    image_pipelines.ImagePipeline("cifar10", data_dir=str(tmp_path / "tfds"))
  assert time.perf_counter() - t0 < 30


def test_missing_optional_packages_are_named_with_their_extra(monkeypatch):
  import importlib.util

  import ml_collections

  from asgl_jax import data
  from asgl_jax.train import builder

  real = importlib.util.find_spec
  gone = {"h5py", "nir", "tonic"}
  monkeypatch.setattr(importlib.util, "find_spec", lambda m, *a: None if m in gone else real(m, *a))
  assert data.missing_requirements("shd") == [("h5py", "shd")]
  assert data.missing_requirements("dvs_gesture") == []  # the official files need no package
  assert data.missing_requirements("dvs_gesture", source="tonic") == [("tonic", "events")]
  config = ml_collections.ConfigDict({"dataset": {"name": "shd"}, "export_nir": True})
  with pytest.raises(builder.MissingDependencyError, match=r"h5py \(extra 'shd'\).*\[nir,shd\]"):
    builder.check_requirements(config)


def test_shd_downloads_through_fetch_with_the_published_md5(monkeypatch, tmp_path):
  from asgl_jax.data import downloads, spike_trains

  calls = []
  monkeypatch.setattr(downloads, "fetch", lambda *a, **kw: calls.append((a, kw)) or a[1])
  with pytest.raises(FileNotFoundError):  # the stand-in fetch writes nothing
    spike_trains.load_shd_split(str(tmp_path), "test", download=True)
  (url, path), kw = calls[0]
  assert url == "https://zenkelab.org/datasets/shd_test.h5.zip"
  assert path.endswith("shd_test.h5.zip") and kw["md5"] == "1503a5064faa34311c398fb0a1ed0a6f"


def test_registry_finds_every_config_dataset_and_rejects_unknown_names():
  import glob
  import importlib

  from asgl_jax import data

  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  for path in glob.glob(os.path.join(root, "experiments", "configs", "*.py")):
    mod = importlib.import_module(f"experiments.configs.{os.path.basename(path)[:-3]}")
    if hasattr(mod, "get_config"):
      assert mod.get_config().dataset.name in data.available_datasets(), path
  with pytest.raises(ValueError, match="unknown dataset 'mnist2'.*mnist_subset"):
    data.load("mnist2")


def test_load_passes_time_steps_under_the_loaders_name_and_its_options_only():
  from asgl_jax import data

  ds = data.load(
    "randman", time_steps=7, num_classes=3, channels=5, samples_per_class=20, augment=True
  )  # `augment` is not Randman's: ignored
  batch = ds.train_batch(seed=0, epoch=0, index=0, batch_size=4)
  assert batch["image"].shape == (4, 7, 5) and ds.num_classes == 3
  assert isinstance(ds, data.Dataset)
  with pytest.raises(FileNotFoundError, match="data_dir"):
    data.load("spikegrams", time_steps=4)


def test_full_mnist_through_tfds_mock_data():
  tfds = pytest.importorskip("tensorflow_datasets")
  from asgl_jax import data
  from asgl_jax.data import mnist

  with tfds.testing.mock_data(num_examples=40):
    ds = data.load("mnist", validation_size=10, seed=3)
    raw = next(iter(tfds.as_numpy(tfds.load("mnist", split="test", batch_size=40))))
  assert ds.num_examples("train") == 30 and ds.num_examples("validation") == 10
  x, y = ds.splits["test"]
  assert x.shape == (40, 28, 28, 1) and x.dtype == np.float32 and y.dtype == np.int32
  np.testing.assert_allclose(x, (raw["image"] / 255.0 - mnist.MEAN) / mnist.STD, rtol=1e-6)
  np.testing.assert_array_equal(y, raw["label"])
  with tfds.testing.mock_data(num_examples=40):
    assert "validation" not in data.load("mnist", validation_size=0).splits
    with pytest.raises(ValueError, match="validation_size"):
      data.load("mnist", validation_size=40)

"""Images per second of every training input pipeline, on 1 and 2 cores.

  python benchmarks/input_pipeline.py [--cores 1,2] [--batches 30] [--pipelines ...]

Each core count runs in its own process pinned to that many cores (``sched_setaffinity`` before
TensorFlow starts, so tf.data's thread pools size themselves to it). Per pipeline: the dataset
the paper config builds (``asgl_jax.train.builder.load_dataset``), on ``tfds.testing.mock_data``
for CIFAR-10/100 and Tiny-ImageNet and on files written in the datasets' real formats
(:mod:`asgl_jax.data.testing`) for DVS-CIFAR10, DVS128 Gesture and SHD, read from their caches
(built once, untimed); then training batches at the config's batch size, the first untimed
(pipeline start), the median rate over ``--rounds`` of ``--batches`` batches.

Baselines in the same process: ``cifar10_per_image_autoaugment`` is the CIFAR-10 training
pipeline with AutoAugment as the per-image ``switch_case`` (:func:`autoaugment_cifar10`), and
``autoaugment_only[_per_image]`` times AutoAugment alone (batched choice and application against
the per-image policy) on in-memory images. The script ends with one JSON line per pipeline and
core count: ``{"pipeline", "images_per_second", "cores", ...}``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import harness

CONFIGS = {
  "cifar10": "cifar10_resnet18_t4",
  "cifar10_no_autoaugment": "cifar10_resnet18_t4",
  "cifar100": "cifar100_resnet18_t4",
  "tiny_imagenet": "tinyimagenet_vgg13_t8",
  "dvs_cifar10": "dvs_cifar10",
  "dvs_gesture": "dvs_gesture",
  "shd": "shd",
}
BASELINES = ("cifar10_per_image_autoaugment", "autoaugment_only", "autoaugment_only_per_image")
PIPELINES = (*CONFIGS, *BASELINES)


def _config(name: str, data_dir: str):
  import importlib

  config = importlib.import_module(f"experiments.configs.{CONFIGS[name]}").get_config()
  if name == "cifar10_no_autoaugment":
    config.dataset.autoaugment = False
  config.dataset.data_dir = data_dir
  if "download" in config.dataset:
    config.dataset.download = False
  if "validation_size" in config.dataset:  # the mock splits are smaller than the held-out set
    config.dataset.validation_size = 0
  config.protocol = "paper"
  return config


def _write_files(name: str, root: str) -> None:
  """Files of ``name`` under ``root/name`` in the dataset's own format."""
  from asgl_jax.data import testing

  root = os.path.join(root, name)
  if name == "dvs_cifar10":
    testing.write_cifar10dvs(root, per_class=40)
  elif name == "dvs_gesture":
    # 25 k events/s, about the density of the real recordings; 3.2 s spans hold a 60-frame clip
    users = tuple(range(1, 9))
    testing.write_gesture(root, users, (9, 10), duration_us=6_600_000, rate_hz=25_000)
  elif name == "shd":
    os.makedirs(root)
    testing.write_shd(os.path.join(root, "shd_train.h5"), 1024, 0)
    testing.write_shd(os.path.join(root, "shd_test.h5"), 256, 1)


def _dataset_batches(name: str, root: str):
  """(a function returning training batch ``k``, batch size) for a config's pipeline."""
  from asgl_jax.train import builder

  config = _config(name, os.path.join(root, name))
  dataset = builder.load_dataset(config)
  b = config.batch_size
  per_epoch = dataset.steps_per_epoch(b)

  def batch(k):
    epoch, index = divmod(k, per_epoch)
    return dataset.train_batch(seed=0, epoch=epoch, index=index, batch_size=b)

  return batch, b


def _per_image_cifar10(batch_size: int, n: int):
  """The CIFAR-10 training pipeline with the per-image policy: crop, flip, AutoAugment,
  Cutout and normalisation in one per-example map over in-memory images."""
  import numpy as np
  import tensorflow as tf

  from asgl_jax.data import augment as aug

  images = tf.constant(np.random.default_rng(0).integers(0, 256, (n, 32, 32, 3), np.uint8))

  def prep(i):
    seeds = tf.random.experimental.stateless_split(tf.stack([tf.constant(0, tf.int64), i]), 4)
    x = aug.random_crop_with_padding(tf.gather(images, i), seeds[0], padding=4, size=32)
    x = tf.image.stateless_random_flip_left_right(x, seeds[1])
    x = aug.cutout(aug.autoaugment_cifar10(x, seeds[2]), seeds[3], 16)
    return (tf.cast(x, tf.float32) / 255.0 - 0.5) / 0.25

  ds = tf.data.Dataset.range(n).repeat().map(prep, num_parallel_calls=tf.data.AUTOTUNE)
  it = iter(ds.batch(batch_size).prefetch(tf.data.AUTOTUNE).as_numpy_iterator())
  return lambda k: next(it)


def _autoaugment_only(batch_size: int, n: int, per_image: bool):
  import numpy as np
  import tensorflow as tf

  from asgl_jax.data import augment as aug

  images = tf.constant(np.random.default_rng(0).integers(0, 256, (n, 32, 32, 3), np.uint8))
  seed = lambda i: tf.stack([tf.constant(1, tf.int64), i])  # noqa: E731
  ds = tf.data.Dataset.range(n).repeat()
  if per_image:
    ds = ds.map(
      lambda i: aug.autoaugment_cifar10(tf.gather(images, i), seed(i)),
      num_parallel_calls=tf.data.AUTOTUNE,
    ).batch(batch_size)
  else:
    ds = ds.map(
      lambda i: (tf.gather(images, i), *aug.autoaugment_choice(seed(i))),
      num_parallel_calls=tf.data.AUTOTUNE,
    ).batch(batch_size)
    ds = ds.map(aug.apply_autoaugment, num_parallel_calls=tf.data.AUTOTUNE)
  it = iter(ds.prefetch(tf.data.AUTOTUNE).as_numpy_iterator())
  return lambda k: next(it)


def _rate(batch, batch_size: int, batches: int, rounds: int) -> float:
  batch(0)  # start (tf.data tracing, thread pools): untimed
  k, rates = 1, []
  for _ in range(rounds):
    t0 = time.perf_counter()
    for _ in range(batches):
      batch(k)
      k += 1
    rates.append(batches * batch_size / (time.perf_counter() - t0))
  return statistics.median(rates)


def child(cores: int, names: list[str], batches: int, rounds: int, mock_examples: int) -> None:
  os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:cores]))
  import tensorflow_datasets as tfds

  with tempfile.TemporaryDirectory() as root:
    for name in names:
      if name in CONFIGS:
        _write_files(name, root)
        with tfds.testing.mock_data(num_examples=mock_examples):
          batch, b = _dataset_batches(name, root)
          rate = _rate(batch, b, batches, rounds)
      else:
        b = 128
        if name == "cifar10_per_image_autoaugment":
          batch = _per_image_cifar10(b, mock_examples)
        else:
          batch = _autoaugment_only(b, mock_examples, per_image=name.endswith("per_image"))
        rate = _rate(batch, b, batches, rounds)
      row = {"pipeline": name, "images_per_second": rate, "cores": cores, "batch_size": b}
      print(json.dumps(row), flush=True)


def main() -> None:
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--cores", default="1,2", help="comma-separated core counts")
  ap.add_argument("--pipelines", default=",".join(PIPELINES))
  ap.add_argument("--batches", type=int, default=30, help="timed batches per round")
  ap.add_argument("--rounds", type=int, default=3)
  ap.add_argument("--mock_examples", type=int, default=4096, help="examples of the mock splits")
  ap.add_argument("--timeout", type=float, default=1800, help="seconds per core count")
  ap.add_argument("--json", help="also write the JSON lines to this file")
  ap.add_argument("--_child", type=int, help=argparse.SUPPRESS)
  args = ap.parse_args()
  names = [n for n in args.pipelines.split(",") if n]
  unknown = sorted(set(names) - set(PIPELINES))
  if unknown:
    ap.error(f"unknown pipelines {unknown}; valid: {', '.join(PIPELINES)}")
  if args.batches < 1 or args.rounds < 1:
    ap.error("--batches and --rounds must be >= 1")
  if args._child is not None:
    child(args._child, names, args.batches, args.rounds, args.mock_examples)
    return
  cores = [int(c) for c in args.cores.split(",")]
  available = len(os.sched_getaffinity(0))
  if any(not 1 <= c <= available for c in cores):
    ap.error(f"--cores must be between 1 and the {available} cores this process may use")
  rows = []
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
  env["TF_CPP_MIN_LOG_LEVEL"] = "2"
  for c in cores:
    cmd = [
      sys.executable,
      os.path.abspath(__file__),
      f"--_child={c}",
      f"--pipelines={','.join(names)}",
    ]
    cmd += [f"--batches={args.batches}", f"--rounds={args.rounds}"]
    cmd += [f"--mock_examples={args.mock_examples}"]
    print(f"{c} core(s): {', '.join(names)}", file=sys.stderr, flush=True)
    proc = subprocess.run(
      cmd, cwd=root, env=env, capture_output=True, text=True, timeout=args.timeout
    )
    if proc.returncode:
      sys.exit(f"input_pipeline: the {c}-core run failed:\n{proc.stderr[-4000:]}")
    rows += [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
  rate = {(r["pipeline"], r["cores"]): r["images_per_second"] for r in rows}
  head = " | ".join(f"{c} core{'s' * (c > 1)}" for c in cores)
  print(f"| pipeline | batch | {head} | per core at {cores[-1]} | {cores[-1]} / {cores[0]} cores |")
  print("|---|---|" + "---|" * (len(cores) + 2))
  for n in names:
    b = next(r["batch_size"] for r in rows if r["pipeline"] == n)
    cells = " | ".join(f"{rate[n, c]:,.0f}" for c in cores)
    scale = rate[n, cores[-1]] / rate[n, cores[0]]
    print(f"| {n} | {b} | {cells} | {rate[n, cores[-1]] / cores[-1]:,.0f} | {scale:.2f}× |")
  for base, new in (
    ("cifar10_per_image_autoaugment", "cifar10"),
    ("autoaugment_only_per_image", "autoaugment_only"),
  ):
    for c in cores:
      if (base, c) in rate and (new, c) in rate:
        print(f"{new} / {base}, {c} core(s): {rate[new, c] / rate[base, c]:.2f}×")
  harness.print_json_lines(rows, args.json)


if __name__ == "__main__":
  main()

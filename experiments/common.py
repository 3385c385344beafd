"""What every experiment main shares: the workdir default, quiet logs, the summary printout."""

import json
import os
import sys
import time

from absl import app, logging

from asgl_jax import data, parallel, train


def run_app(main, module: str) -> None:
  """``absl.app.run(main)`` for ``python -m <module>``: on Linux, first restarts the process
  with transparent huge pages for large host buffers (:func:`asgl_jax.train.relaunch_with_hugepages`;
  ``ASGL_JAX_HUGEPAGES=0`` turns it off)."""
  train.relaunch_with_hugepages(module)
  app.run(main)


def setup(config) -> None:
  """Process-level set-up before any data or model is built."""
  logging.set_verbosity(
    logging.WARNING
  )  # keep Orbax's per-save INFO lines out of the progress output
  if config.get("distributed"):
    parallel.initialize_distributed()


def load_dataset(config):
  """The dataset named by ``config.dataset``: the bundled MNIST subset, Randman (generated),
  SHD (HDF5 files), DVS-CIFAR10 / DVS128 Gesture (event recordings), spikegrams or a tfds
  image pipeline."""
  d = config.dataset
  if d.name == "mnist_subset":
    return data.load_mnist_subset(
      val_per_class=d.val_per_class,
      test_per_class=d.test_per_class,
      seed=config.seed,
      max_shift=d.max_shift,
    )
  if d.name == "randman":
    from asgl_jax.data import spike_trains

    return spike_trains.make_randman(
      num_classes=d.num_classes,
      channels=d.channels,
      num_steps=config.time_steps,
      dim=d.dim,
      alpha=d.alpha,
      samples_per_class=d.samples_per_class,
      seed=d.seed,
    )
  if d.name == "shd":
    from asgl_jax.data import spike_trains

    return spike_trains.load_shd(
      d.data_dir or os.path.expanduser("~/data/shd"),
      num_steps=config.time_steps,
      max_time=d.max_time,
      seed=config.seed,
      download=d.download,
    )
  if d.name == "dvs_cifar10":
    from asgl_jax.data import events

    return events.load_dvs_cifar10(
      d.data_dir or os.path.expanduser("~/data/dvs_cifar10"),
      num_frames=config.time_steps,
      size=d.size,
      split_by=d.split_by,
      validation_fraction=d.validation_fraction,
      max_roll=d.max_roll,
      seed=config.seed,
      download=d.download,
    )
  if d.name == "dvs_gesture":
    from asgl_jax.data import events

    return events.load_dvs_gesture(
      d.data_dir or os.path.expanduser("~/data/dvs_gesture"),
      num_frames=config.time_steps,
      frame_ms=d.frame_ms,
      frame_size=d.frame_size,
      split=d.split,
      source=d.source,
      validation_fraction=d.validation_fraction,
      seed=config.seed,
    )
  if d.name == "spikegrams":
    from asgl_jax.data import spike_trains

    if not d.data_dir:
      raise FileNotFoundError(
        "spikegrams: set --config.dataset.data_dir to the folder with train.npz and test.npz"
      )
    return spike_trains.load_spikegrams(
      d.data_dir, num_steps=config.time_steps, channels=d.channels, seed=config.seed
    )
  from asgl_jax.data import image_pipelines  # TensorFlow is needed only here

  return image_pipelines.ImagePipeline(
    d.name,
    data_dir=d.data_dir or None,
    validation_size=d.validation_size,
    augment=d.augment,
    autoaugment=d.autoaugment,
    cutout=d.cutout,
    download=d.download,
  )


def train_main(config, workdir: str | None, prog: str) -> dict:
  """Body of the train-one-config mains: set up, load the data (a missing dataset exits
  with status 2 and a message saying how to get it, not a traceback), train, report."""
  setup(config)
  try:
    dataset = load_dataset(config)
  except (FileNotFoundError, ImportError) as e:  # DatasetUnavailableError is a FileNotFoundError
    print(f"{prog}: {e}", file=sys.stderr)
    sys.exit(2)
  return run(config, workdir, dataset, config.dataset.name)


def run(config, workdir: str | None, dataset, name: str) -> dict:
  """Trains and evaluates ``dataset`` with ``config``; prints and returns the summary."""
  logging.set_verbosity(
    logging.WARNING
  )  # keep Orbax's per-save INFO lines out of the progress output
  workdir = workdir or os.path.join("runs", time.strftime(f"{name}-%Y%m%d-%H%M%S"))
  summary = train.train_and_evaluate(config, workdir, dataset)
  state = summary.pop("final_state")
  if config.get("export_nir"):
    summary["nir_file"] = export_nir(config, dataset, state, workdir)
  print(json.dumps(summary, indent=2))
  print(f"Embedded SNN test accuracy: {summary['test_snn_accuracy']:.4f}  (workdir: {workdir})")
  return summary


def export_nir(config, dataset, state, workdir: str) -> str:
  """Writes the trained embedded SNN to ``<workdir>/model.nir`` (see :mod:`asgl_jax.export`)."""
  import nir

  from asgl_jax import export

  model = train.model_from_state(config, dataset.num_classes, state)
  sample = next(dataset.eval_batches("test", 1))["image"]
  graph = export.to_nir(model, dt=config.get("nir_dt", 1.0), input_shape=sample.shape[1:])
  path = os.path.join(workdir, "model.nir")
  nir.write(path, graph)
  print(f"NIR graph written to {path}")
  return path

"""The one reader of an experiment's ``ml_collections`` config: validates it and builds the run.

Everything a config decides is resolved here, once, into a :class:`Run` (model, optimizer,
schedules, task, loop sizes); the loop (:mod:`asgl_jax.train.loop`) and the steps
(:mod:`asgl_jax.train.step`) never see the config. ``method="sg"`` (plain surrogate-gradient
learning) is resolved here too: widths frozen in the model and the optimizer, ``p = 1`` known
at trace time.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from asgl_jax import checkpoint as ckpt_lib
from asgl_jax import losses, models, optim, schedules
from asgl_jax.train import step as step_lib

# What a run trains for: the batch entry the loss compares with, the training metrics, the
# per-example evaluation scores and the score reported.
TASKS = {
  "classify": dict(
    target="label",
    metrics_fn=step_lib.classification_metrics,
    score_fn=step_lib.classification_scores,
    score="accuracy",
  ),
  # classify, plus macro precision / recall / F1 of the evaluations (MedlyDB, App. B.4)
  "classify_f1": dict(
    target="label",
    metrics_fn=step_lib.classification_metrics,
    score_fn=step_lib.class_count_scores,
    score="accuracy",
  ),
  "reconstruct": dict(
    target="image",
    metrics_fn=lambda outputs, images: {},
    score_fn=step_lib.reconstruction_scores,
    score="psnr",
  ),
}


@dataclasses.dataclass(frozen=True)
class Run:
  """A training run, resolved from a config by :func:`build_run`."""

  model: nnx.Module
  tx: optax.GradientTransformation
  lr_schedule: Callable[[int], Any]
  loss_fn: Callable
  metrics_fn: Callable
  score_fn: Callable
  target: str
  score: str
  method: str
  p_of_epoch: Callable[[int], float]
  fixed_p: float | None
  seed: int
  batch_size: int
  steps_per_epoch: int
  total_steps: int
  num_epochs: int
  num_devices: int | None
  log_every: int
  analysis_examples: int
  energy_examples: int = 0  # the final energy estimate's examples (0: analysis_examples)
  preemption_signals: tuple[str, ...] = ("SIGTERM",)
  interrupt: bool = False  # the first Ctrl-C checkpoints and stops too
  protocol: str = "heldout"
  compute_dtype: Any = None  # None: float32; jnp.bfloat16: mixed precision (config.dtype)
  prefetch: int = 2  # batches prepared ahead on a background thread (0: when asked)


PROTOCOLS = ("heldout", "paper")


# config.dtype -> the compute dtype of the steps (parameters and optimizer state stay float32)
DTYPES = {"float32": None, "bfloat16": jnp.bfloat16}


def validate_config(config) -> None:
  """Clear errors for bad config values (raised before anything is built)."""
  if config.method not in ("asgl", "sg"):
    raise ValueError(f"config.method must be 'asgl' or 'sg', got {config.method!r}")
  if config.get("task", "classify") not in TASKS:
    raise ValueError(f"config.task must be one of {sorted(TASKS)}, got {config.task!r}")
  if config.get("protocol", "heldout") not in PROTOCOLS:
    raise ValueError(f"config.protocol must be one of {PROTOCOLS}, got {config.protocol!r}")
  for field, ok, want in (
    ("learning_rate", config.learning_rate > 0, "> 0"),
    ("spiking_lr", config.spiking_lr >= 0, ">= 0"),
    ("weight_decay", config.weight_decay >= 0, ">= 0"),
    ("momentum", 0 <= config.momentum < 1, "in [0, 1)"),
  ):
    if not ok:  # NaN fails every comparison, so it lands here too
      raise ValueError(f"config.{field} must be {want}, got {config[field]!r}")
  if config.get("dtype", "float32") not in DTYPES:
    raise ValueError(f"config.dtype must be one of {sorted(DTYPES)}, got {config.dtype!r}")
  if config.batch_size < 1:
    raise ValueError(f"config.batch_size must be >= 1, got {config.batch_size}")
  if config.get("prefetch", 2) < 0:
    raise ValueError(f"config.prefetch must be >= 0, got {config.prefetch}")
  if config.time_steps < 1:
    raise ValueError(f"config.time_steps must be >= 1, got {config.time_steps}")
  if config.num_epochs < 1 and config.num_train_steps < 1:
    raise ValueError("config.num_epochs or config.num_train_steps must be >= 1")
  if not config.neuron.alpha > 0:
    raise ValueError(f"config.neuron.alpha (initial width) must be > 0, got {config.neuron.alpha}")
  noise_schedule(config)
  losses.get_loss(config.loss)
  if config.model.name not in models.available_models():
    raise ValueError(
      f"config.model.name: unknown model {config.model.name!r}; valid: {models.available_models()}"
    )


def noise_schedule(config) -> Callable[[int], float]:
  """``epoch -> p``: the noise schedule of ``config.noise`` (ASGL), ``1.0`` throughout for SG."""
  noise = schedules.make_noise_schedule(
    p0=config.noise.p0,
    zeta=config.noise.zeta,
    milestones=config.noise.milestones,
    increment=config.noise.get("increment", 0.0),
  )
  return (lambda epoch: 1.0) if config.method == "sg" else noise


def build_model(config, num_outputs: int) -> nnx.Module:
  """Model from ``config.model`` (name, kwargs), ``config.time_steps`` and ``config.neuron``
  (widths frozen for ``method="sg"``)."""
  neuron = dict(config.neuron)
  if config.method == "sg":
    neuron["learn_alpha"] = False
  kwargs = dict(config.model.get("kwargs", {}))
  return models.get_model(
    config.model.name,
    num_classes=num_outputs,
    time_steps=config.time_steps,
    neuron=neuron,
    rngs=nnx.Rngs(config.seed),
    **kwargs,
  )


def build_optimizer(config, total_steps: int):
  """``(lr_schedule, tx)`` of ``config`` (see :func:`asgl_jax.optim.make_optimizer`)."""
  lr = schedules.make_lr_schedule(
    config.lr_schedule,
    base_lr=config.learning_rate,
    total_steps=total_steps,
    warmup_steps=config.get("warmup_steps", 0),
  )
  tx = optim.make_optimizer(
    lr_schedule=lr,
    optimizer=config.optimizer,
    momentum=config.momentum,
    weight_decay=config.weight_decay,
    spiking_lr=config.spiking_lr,
    method=config.method,
  )
  return lr, tx


def num_outputs(config, dataset) -> int:
  """The network's output size: the classes, or the input's size for ``task="reconstruct"``."""
  if config.get("task", "classify") == "reconstruct":
    return math.prod(next(iter(dataset.eval_batches("test", 1)))["image"].shape[1:])
  return dataset.num_classes


def _task(name: str, dataset) -> dict:
  task = dict(TASKS[name])
  if task["score_fn"] is step_lib.class_count_scores:
    task["score_fn"] = functools.partial(task["score_fn"], num_classes=dataset.num_classes)
  return task


def apply_protocol(config, dataset):
  """``dataset`` as ``config.protocol`` wants it: as it is (``"heldout"``: it must have a
  validation split), or with its validation split back in training (``"paper"``)."""
  protocol = config.get("protocol", "heldout")
  has_split = getattr(dataset, "has_split", lambda split: True)
  if protocol == "paper" and has_split("validation"):
    if not hasattr(dataset, "without_validation"):
      raise TypeError(
        f"config.protocol='paper': {type(dataset).__name__} has a validation split but no "
        "without_validation() to train on it"
      )
    return dataset.without_validation()
  if protocol == "heldout" and not has_split("validation"):
    raise ValueError(
      f"{getattr(dataset, 'name', 'the dataset')} has no validation split (validation size 0): "
      "hold some training examples out, or train on all of them with --config.protocol=paper"
    )
  return dataset


def build_run(config, dataset) -> Run:
  """Validates ``config`` and resolves it, with ``dataset``'s sizes, into a :class:`Run`
  (``dataset`` as :func:`apply_protocol` returns it)."""
  validate_config(config)
  steps_per_epoch = dataset.steps_per_epoch(config.batch_size)
  total_steps = (
    config.num_train_steps if config.num_train_steps > 0 else config.num_epochs * steps_per_epoch
  )
  lr, tx = build_optimizer(config, total_steps)
  return Run(
    model=build_model(config, num_outputs(config, dataset)),
    tx=tx,
    lr_schedule=lr,
    loss_fn=losses.get_loss(config.loss),
    **_task(config.get("task", "classify"), dataset),
    method=config.method,
    p_of_epoch=noise_schedule(config),
    fixed_p=1.0 if config.method == "sg" else None,
    seed=config.seed,
    batch_size=config.batch_size,
    steps_per_epoch=steps_per_epoch,
    total_steps=total_steps,
    num_epochs=math.ceil(total_steps / steps_per_epoch),
    num_devices=config.get("num_devices") or None,
    log_every=config.get("log_every", 50),
    analysis_examples=config.get("analysis_examples", 0),
    energy_examples=config.get("energy_examples", 0),
    preemption_signals=tuple(config.get("preemption_signals", ("SIGTERM",))),
    interrupt=bool(config.get("checkpoint_on_interrupt", False)),
    protocol=config.get("protocol", "heldout"),
    compute_dtype=DTYPES[config.get("dtype", "float32")],
    prefetch=int(config.get("prefetch", 2)),
  )


def restore_model(config, num_classes: int, workdir: str) -> nnx.Module:
  """The model of ``config`` with the parameters of the latest checkpoint in ``workdir``."""
  graphdef, params, stats = step_lib.split_model(build_model(config, num_classes))
  _, tx = build_optimizer(config, 1)  # the optimizer state's structure, to restore into
  like = {"state": step_lib.TrainState(jnp.int32(0), params, stats, tx.init(params))}
  ckpt = ckpt_lib.Checkpointer(workdir)
  latest, restored = ckpt.restore_latest(like)
  if latest is None:
    raise FileNotFoundError(f"restore_model: no usable checkpoint in {ckpt.path}")
  state = restored["state"]
  ckpt.close()
  return step_lib.merge_model(graphdef, state.params, state.batch_stats)


def model_from_state(config, num_classes: int, state: step_lib.TrainState) -> nnx.Module:
  """The model of ``config`` carrying the parameters and BN statistics of ``state``."""
  graphdef, _, _ = step_lib.split_model(build_model(config, num_classes))
  return step_lib.merge_model(
    graphdef, jax.device_get(state.params), jax.device_get(state.batch_stats)
  )


class MissingDependencyError(ImportError):
  """A package the config needs is not installed; the message names the extra that has it."""


def check_requirements(config) -> None:
  """Raises :class:`MissingDependencyError` if the config needs a package that is not installed
  (its dataset's loader, ``export_nir``'s ``nir``), naming every missing package and the
  ``asgl_jax`` extra that installs it, before any data is read or any step is run.

  Example:
    >>> import ml_collections
    >>> from asgl_jax.train import builder
    >>> builder.check_requirements(ml_collections.ConfigDict(
    ...     {"dataset": {"name": "randman"}, "export_nir": False}))  # nothing missing: returns
  """
  import importlib.util

  from asgl_jax import data

  missing = []
  if "dataset" in config:
    options = dict(config.dataset)
    missing = data.missing_requirements(options.pop("name"), **options)
  if config.get("export_nir") and importlib.util.find_spec("nir") is None:
    missing.append(("nir", "nir"))
  if missing:
    extras = sorted({extra for _, extra in missing})
    what = ", ".join(f"{m} (extra '{extra}')" for m, extra in missing)
    raise MissingDependencyError(
      f"this config needs {what}, which {'is' if len(missing) == 1 else 'are'} not installed: "
      f"pip install -e '.[{','.join(extras)}]' (or pip install 'asgl_jax[{','.join(extras)}]')"
    )


def write_config(config, workdir: str) -> str:
  """Writes ``config`` (every field, overrides applied) to ``<workdir>/config.json``; a resumed
  run overwrites it with the config it resumed with.

  Example:
    >>> import json, os, tempfile, ml_collections
    >>> from asgl_jax.train import builder
    >>> path = builder.write_config(ml_collections.ConfigDict({"lr": 0.1}), tempfile.mkdtemp())
    >>> json.load(open(path))
    {'lr': 0.1}
  """
  path = os.path.join(workdir, "config.json")
  tmp = path + ".tmp"
  with open(tmp, "w") as f:
    f.write(config.to_json_best_effort(indent=2, sort_keys=True) + "\n")
  os.replace(tmp, path)
  return path


def load_dataset(config):
  """The dataset named by ``config.dataset.name`` (:func:`asgl_jax.data.load`), with the run's
  seed and time steps; ``config.dataset``'s other fields are the loader's options (its own
  ``seed``, e.g. Randman's generator seed, overrides the run's), under ``config.protocol``
  (:func:`apply_protocol`). Missing packages are reported first (:func:`check_requirements`)."""
  from asgl_jax import data

  check_requirements(config)
  options = {"seed": config.seed, **dict(config.dataset)}
  name = options.pop("name")
  return apply_protocol(config, data.load(name, time_steps=config.time_steps, **options))


def override(config, **fields):
  """A copy of ``config`` with dotted ``fields`` set (e.g. ``**{"neuron.alpha": 0.5}``).

  Example:
    >>> import ml_collections
    >>> from asgl_jax.train import builder
    >>> c = ml_collections.ConfigDict({"method": "asgl", "neuron": {"alpha": 1.0}})
    >>> builder.override(c, **{"method": "sg", "neuron.alpha": 0.5}).neuron.alpha
    0.5
  """
  c = config.copy_and_resolve_references()
  with c.unlocked():
    for path, value in fields.items():
      *parents, leaf = path.split(".")
      node = c
      for p in parents:
        node = node[p]
      node[leaf] = value
  return c

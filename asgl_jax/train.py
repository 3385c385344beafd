"""Functional training and evaluation of ASGL spiking networks.

The model is split once into a graph definition and state
(``nnx.split``); the steps are plain ``jax.jit`` functions
``(state, batch, key, p) -> (state, metrics)`` that ``nnx.merge`` inside, over
a ``'data'`` mesh (parameters replicated, batch sharded). Masks come from
``fold_in(fold_in(seed_key, step), global_example_index)`` and then the layer
and time step, so one seed gives the same run on 1 or N devices.

:func:`train_and_evaluate` is the loop every experiment main calls.
"""

from __future__ import annotations

import functools
import json
import math
import os
import sys
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from asgl_jax import checkpoint as ckpt_lib
from asgl_jax import losses, models, nn, optim, parallel, schedules

Array = jax.Array


class TrainState(NamedTuple):
  """Everything a train step updates.

  ``params = {"weights": nnx.State, "spiking": nnx.State}``; ``batch_stats``
  holds BN running statistics.
  """

  step: Array
  params: Any
  batch_stats: Any
  opt_state: Any


def split_model(model: nnx.Module):
  """``nnx.split`` into ``(graphdef, params, batch_stats)``; params split into weights and spiking."""
  graphdef, spiking, weights, stats = nnx.split(model, nn.SpikingParam, nnx.Param, nnx.BatchStat)
  pure = nnx.to_pure_dict
  return graphdef, {"weights": pure(weights), "spiking": pure(spiking)}, pure(stats)


def merge_model(graphdef, params, batch_stats) -> nnx.Module:
  return nnx.merge(graphdef, params["spiking"], params["weights"], batch_stats)


def example_keys(key: Array, step: Array, batch_size: int) -> Array:
  """Per-example mask keys ``fold_in(fold_in(key, step), i)`` for global example index ``i``."""
  step_key = jax.random.fold_in(key, step)
  return jax.vmap(lambda i: jax.random.fold_in(step_key, i))(jnp.arange(batch_size))


# XLA:CPU (jaxlib 0.10) hands single convolutions, single dots and reductions to YNNPACK.
# YNNPACK's 3×3 convolutions, their weight gradients above all, are 1.5–3× slower than XLA's own
# (Eigen) ones at the shapes of our conv nets, while its reductions (the batch-norm statistics)
# are ~10× faster than XLA's: so on CPU the steps keep YNNPACK for reductions only. Same-process
# timings (benchmarks/xla_options.py, benchmarks/RESULTS.md): workload B (4-layer conv SNN)
# 824 → 539 ms per step, A64 (recurrent, dots) 114 → 101 ms, A256 487 → 426 ms, C unchanged.
# The float results differ from the default compilation by rounding only (tested).
_YNN_OPTION = "xla_cpu_experimental_ynn_fusion_type"
_CPU_COMPILER_OPTIONS = {_YNN_OPTION: "LIBRARY_FUSION_TYPE_REDUCE"}


@functools.cache
def _cpu_options_accepted() -> bool:
  try:
    jax.jit(lambda x: jnp.sum(x), compiler_options=_CPU_COMPILER_OPTIONS).lower(
      jax.ShapeDtypeStruct((8,), jnp.float32)
    ).compile()
  except Exception as e:  # an XLA without the option (or with other values): its defaults
    print(
      f"asgl_jax.train.compiler_options: this jaxlib rejects {_CPU_COMPILER_OPTIONS} "
      f"({type(e).__name__}: {str(e).splitlines()[0]}); compiling with XLA's defaults",
      file=sys.stderr,
    )
    return False
  return True


def compiler_options(backend: str | None = None) -> dict[str, str] | None:
  """XLA options for ``jax.jit(..., compiler_options=...)`` of training and evaluation steps.

  On CPU: YNNPACK only for reductions, XLA's own convolutions and dots (see the measurements
  above this function; :func:`train_and_evaluate` and the benchmarks jit with it). ``None``
  (XLA's defaults) on GPU/TPU, when ``XLA_FLAGS`` already sets
  ``--xla_cpu_experimental_ynn_fusion_type`` (the user's choice wins), or when the installed
  jaxlib rejects the option.

  Example::

      step = jax.jit(make_train_step(graphdef, tx, loss_fn),
                     compiler_options=train.compiler_options(), donate_argnums=0)

  Args:
    backend: ``"cpu"``, ``"gpu"``, ``"tpu"``; default ``jax.default_backend()``.
  """
  if (backend or jax.default_backend()) != "cpu":
    return None
  if _YNN_OPTION in os.environ.get("XLA_FLAGS", ""):
    return None
  return dict(_CPU_COMPILER_OPTIONS) if _cpu_options_accepted() else None


# XLA:CPU allocates a step's temporaries (300 MiB for workload B) and large outputs afresh on
# every call; glibc's malloc serves allocations above 32 MiB with mmap and returns them with
# munmap, so every step faults its buffers in again, 4 KiB at a time, and the kernel zeroes
# each page: 77,000 page faults and ~140 ms of kernel CPU time per B step. With
# ``GLIBC_TUNABLES=glibc.malloc.hugetlb=1`` (glibc >= 2.35) malloc asks for transparent huge
# pages on those mappings: ~400 faults per step, B 555 → 494 ms, the MNIST main 66–69 → 52 s
# of training, same results (benchmarks/host_malloc.py, benchmarks/RESULTS.md). The tunable is
# read when the process starts, so the experiment mains relaunch themselves with it
# (relaunch_with_hugepages).
_HUGETLB = "glibc.malloc.hugetlb"
HUGEPAGE_TUNABLE = f"{_HUGETLB}=1"
_THP_MODE_FILE = "/sys/kernel/mm/transparent_hugepage/enabled"


def _thp_mode() -> str:
  try:
    with open(_THP_MODE_FILE) as f:
      return f.read()
  except OSError:
    return ""


def hugepage_env(
  environ=None, *, libc: tuple[str, str] | None = None, thp: str | None = None
) -> dict[str, str] | None:
  """The environment with ``GLIBC_TUNABLES`` extended by :data:`HUGEPAGE_TUNABLE`, or ``None``.

  ``None`` where the setting cannot help or the user decided otherwise:
  ``ASGL_JAX_HUGEPAGES=0``; not Linux with glibc >= 2.35; transparent huge pages off
  (``never`` in ``/sys/kernel/mm/transparent_hugepage/enabled``); ``GLIBC_TUNABLES``
  already names ``glibc.malloc.hugetlb`` (the user's setting wins). Run your own
  training script with it from a shell::

      GLIBC_TUNABLES=glibc.malloc.hugetlb=1 python my_train.py

  Args:
    environ: the environment to extend (default ``os.environ``); it is not modified.
    libc: ``(name, version)`` (default ``platform.libc_ver()``), for tests.
    thp: the contents of the THP mode file (default: read it), for tests.
  """
  import platform

  env = dict(os.environ if environ is None else environ)
  if env.get("ASGL_JAX_HUGEPAGES", "1") == "0" or not sys.platform.startswith("linux"):
    return None
  name, version = platform.libc_ver() if libc is None else libc
  try:
    major_minor = tuple(int(v) for v in version.split(".")[:2])
  except ValueError:
    return None
  if name != "glibc" or major_minor < (2, 35):
    return None
  mode = _thp_mode() if thp is None else thp
  if "[always]" not in mode and "[madvise]" not in mode:
    return None
  tunables = env.get("GLIBC_TUNABLES", "")
  if _HUGETLB in tunables:
    return None
  env["GLIBC_TUNABLES"] = f"{tunables}:{HUGEPAGE_TUNABLE}" if tunables else HUGEPAGE_TUNABLE
  return env


def relaunch_with_hugepages(module: str) -> None:
  """Restarts ``python -m <module> ...`` with :func:`hugepage_env`'s environment.

  Call it first thing under ``if __name__ == "__main__":`` (the experiment mains do). It
  returns without doing anything unless this process was started as ``python -m <module>``
  (never from a notebook, ``runpy`` or a test) and :func:`hugepage_env` gives an
  environment; otherwise it replaces the process (``os.execve``, same arguments and
  interpreter options) and prints one line to stderr. ``ASGL_JAX_HUGEPAGES=0`` turns it off.
  """
  argv = list(getattr(sys, "orig_argv", ()))
  try:
    launched = argv[argv.index("-m") + 1] == module
  except (ValueError, IndexError):
    launched = False
  if not launched or os.environ.get("_ASGL_JAX_RELAUNCHED") == "1":
    return
  env = hugepage_env()
  if env is None:
    return
  env["_ASGL_JAX_RELAUNCHED"] = "1"  # never twice, whatever glibc makes of the tunable
  print(
    f"asgl_jax: restarting with GLIBC_TUNABLES={env['GLIBC_TUNABLES']} (transparent huge "
    "pages for XLA's host buffers; ASGL_JAX_HUGEPAGES=0 turns this off)",
    file=sys.stderr,
    flush=True,
  )
  sys.stdout.flush()
  os.execve(sys.executable, [sys.executable, *argv[1:]], env)


def make_train_step(graphdef, tx: optax.GradientTransformation, loss_fn: Callable) -> Callable:
  """``(state, batch, key, p) -> (state, metrics)``; jit it with :func:`compiler_options`."""

  def train_step(state: TrainState, batch, key, p):
    keys = example_keys(key, state.step, batch["label"].shape[0])

    def compute_loss(params, batch_stats):
      model = merge_model(graphdef, params, batch_stats)
      out = model(batch["image"], key=keys, p=p, train=True)
      return loss_fn(out, batch["label"]), (out, nnx.to_pure_dict(nnx.state(model, nnx.BatchStat)))

    (loss, (out, stats)), grads = jax.value_and_grad(compute_loss, has_aux=True)(
      state.params, state.batch_stats
    )
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    acc = jnp.mean(jnp.argmax(jnp.mean(out, axis=0), -1) == batch["label"])
    metrics = {"loss": loss, "accuracy": acc, "grad_norm": optax.tree.norm(grads["weights"])}
    return TrainState(state.step + 1, params, stats, opt_state), metrics

  return train_step


def _with_p_one(step_fn, state, batch, key, p):
  del p
  return step_fn(state, batch, key, 1.0)


def make_eval_step(graphdef) -> Callable:
  """``(state, batch, key, p) -> sums``: correct counts of the noisy network (masks at
  probability ``p``, BN statistics frozen) and of the embedded SNN (pure spikes), and
  the SNN's per-layer firing rates (times the batch size, for averaging)."""

  def eval_step(state: TrainState, batch, key, p):
    mask = batch["mask"].astype(jnp.float32)
    keys = example_keys(key, jnp.int32(0), batch["label"].shape[0])
    model = merge_model(graphdef, state.params, state.batch_stats)
    # The noisy network: masks at probability p, BN with its running statistics.
    model.set_attributes(use_running_average=True, raise_if_not_found=False)
    noisy = model(batch["image"], key=keys, p=p, train=True)
    # The embedded SNN (pure spikes), recording each spiking layer's firing rate.
    model.set_attributes(record="rates", raise_if_not_found=False)
    snn, rates = nnx.capture(model, nnx.Intermediate)(batch["image"], train=False)
    n = jnp.sum(mask)
    flat = {
      k.replace("/firing_rate/0", ""): v for k, v in _flatten(nnx.to_pure_dict(rates)).items()
    }
    return {
      "count": n,
      "noisy_correct": jnp.sum(mask * (jnp.argmax(noisy.mean(0), -1) == batch["label"])),
      "snn_correct": jnp.sum(mask * (jnp.argmax(snn.mean(0), -1) == batch["label"])),
      **{f"rate/{k}": jnp.sum(jnp.asarray(v)) * n for k, v in flat.items()},
    }

  return eval_step


def widths(params) -> dict[str, float]:
  """Mean width ``α = exp(log α)`` of each spiking layer, by parameter path."""
  return {
    k[: -len("/log_alpha")]: float(jnp.mean(jnp.exp(v)))
    for k, v in _flatten(params["spiking"]).items()
    if k.endswith("/log_alpha")
  }


def _flatten(tree) -> dict[str, Any]:
  """``{"a": {"b": x}} -> {"a/b": x}`` (tuples from ``sow`` are flattened as ``.../0``)."""
  out = {}
  for path, v in jax.tree_util.tree_flatten_with_path(tree)[0]:
    out["/".join(str(getattr(k, "key", getattr(k, "idx", k))) for k in path)] = v
  return out


class ProgressBar:
  """A dependency-free progress line: step, rate, ETA and the latest metrics.

  Redraws in place on a terminal; on a pipe (CI, logs) prints a line every
  ``every`` steps.
  """

  def __init__(self, total: int, *, start: int = 0, every: int = 50, stream=sys.stderr):
    self.total, self.start, self.every, self.stream = total, start, every, stream
    self.t0 = time.perf_counter()
    self.tty = hasattr(stream, "isatty") and stream.isatty()

  def update(self, step: int, info: str = "") -> None:
    done = step - self.start
    elapsed = time.perf_counter() - self.t0
    rate = done / elapsed if elapsed > 0 else 0.0
    eta = (self.total - step) / rate if rate > 0 else float("inf")
    frac = step / max(self.total, 1)
    bar = "#" * int(24 * frac) + "-" * (24 - int(24 * frac))
    line = f"[{bar}] {step}/{self.total} {rate:.2f} step/s ETA {_fmt_time(eta)} {info}"
    if self.tty:
      self.stream.write("\r" + line[:160].ljust(160))
      if step >= self.total:
        self.stream.write("\n")
    elif step % self.every == 0 or step >= self.total:
      self.stream.write(line + "\n")
    self.stream.flush()


def _fmt_time(s: float) -> str:
  if not math.isfinite(s):
    return "--:--"
  m, s = divmod(int(s), 60)
  h, m = divmod(m, 60)
  return f"{h:d}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class MetricWriter:
  """Writes ``metrics.jsonl`` and, if tensorboardX is installed, TensorBoard event files."""

  def __init__(self, workdir: str):
    os.makedirs(workdir, exist_ok=True)
    self.jsonl = open(os.path.join(workdir, "metrics.jsonl"), "a")
    try:
      from tensorboardX import SummaryWriter

      self.tb = SummaryWriter(os.path.join(workdir, "tensorboard"))
    except ImportError:
      self.tb = None

  def write(self, step: int, metrics: dict[str, float]) -> None:
    rec = {"step": int(step), **{k: float(v) for k, v in metrics.items()}}
    self.jsonl.write(json.dumps(rec) + "\n")
    self.jsonl.flush()
    if self.tb is not None:
      for k, v in metrics.items():
        self.tb.add_scalar(k, float(v), int(step))
      self.tb.flush()

  def close(self) -> None:
    self.jsonl.close()
    if self.tb is not None:
      self.tb.close()


def build_model(config, num_classes: int) -> nnx.Module:
  """Model from ``config.model`` (name, kwargs), ``config.time_steps`` and ``config.neuron``."""
  neuron = dict(config.neuron)
  if config.method == "sg":
    neuron["learn_alpha"] = False
  kwargs = dict(config.model.get("kwargs", {}))
  return models.get_model(
    config.model.name,
    num_classes=num_classes,
    time_steps=config.time_steps,
    neuron=neuron,
    rngs=nnx.Rngs(config.seed),
    **kwargs,
  )


def make_optimizer(config, total_steps: int):
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


def restore_model(config, num_classes: int, workdir: str) -> nnx.Module:
  """The model of ``config`` with the parameters of the latest checkpoint in ``workdir``."""
  graphdef, params, stats = split_model(build_model(config, num_classes))
  _, tx = make_optimizer(config, 1)  # the optimizer state's structure, to restore into
  like = {"state": TrainState(jnp.int32(0), params, stats, tx.init(params))}
  ckpt = ckpt_lib.Checkpointer(workdir)
  step = ckpt.latest_step()
  if step is None:
    raise FileNotFoundError(f"restore_model: no checkpoint in {ckpt.path}")
  state = ckpt.restore(step, like)["state"]
  ckpt.close()
  return merge_model(graphdef, state.params, state.batch_stats)


def model_from_state(config, num_classes: int, state: TrainState) -> nnx.Module:
  """The model of ``config`` carrying the parameters and BN statistics of ``state``."""
  graphdef, _, _ = split_model(build_model(config, num_classes))
  return merge_model(graphdef, jax.device_get(state.params), jax.device_get(state.batch_stats))


def validate_config(config) -> None:
  """Clear errors for bad config values (raised before anything is built)."""
  if config.method not in ("asgl", "sg"):
    raise ValueError(f"config.method must be 'asgl' or 'sg', got {config.method!r}")
  if config.batch_size < 1:
    raise ValueError(f"config.batch_size must be >= 1, got {config.batch_size}")
  if config.time_steps < 1:
    raise ValueError(f"config.time_steps must be >= 1, got {config.time_steps}")
  if config.num_epochs < 1 and config.num_train_steps < 1:
    raise ValueError("config.num_epochs or config.num_train_steps must be >= 1")
  if not config.neuron.alpha > 0:
    raise ValueError(f"config.neuron.alpha (initial width) must be > 0, got {config.neuron.alpha}")
  schedules.make_noise_schedule(
    p0=config.noise.p0, zeta=config.noise.zeta, milestones=config.noise.milestones
  )
  losses.get_loss(config.loss)
  if config.model.name not in models.available_models():
    raise ValueError(
      f"config.model.name: unknown model {config.model.name!r}; valid: {models.available_models()}"
    )


def train_and_evaluate(config, workdir: str, dataset) -> dict[str, Any]:
  """Trains with ASGL (or SG) and evaluates; resumes from ``workdir`` if a checkpoint exists.

  Each epoch logs training loss/accuracy, validation accuracy of the noisy
  network and of the embedded SNN, p, per-layer widths and firing rates. The
  test split is evaluated once, at the end, with the final parameters (never
  used for model selection).

  Returns:
    The run summary (also written to ``<workdir>/summary.json``).
  """
  validate_config(config)
  t_start = time.perf_counter()
  os.makedirs(workdir, exist_ok=True)
  mesh = parallel.make_mesh(config.get("num_devices") or None)
  n_dev = mesh.devices.size
  if config.batch_size % n_dev:
    raise ValueError(
      f"config.batch_size {config.batch_size} is not divisible by the {n_dev} devices"
    )
  steps_per_epoch = dataset.steps_per_epoch(config.batch_size)
  total_steps = (
    config.num_train_steps if config.num_train_steps > 0 else config.num_epochs * steps_per_epoch
  )
  num_epochs = math.ceil(total_steps / steps_per_epoch)

  model = build_model(config, dataset.num_classes)
  graphdef, params, stats = split_model(model)
  lr, tx = make_optimizer(config, total_steps)
  state = TrainState(jnp.int32(0), params, stats, tx.init(params))
  rep = parallel.replicated(mesh)
  state = jax.device_put(state, rep)
  noise = schedules.make_noise_schedule(
    p0=config.noise.p0, zeta=config.noise.zeta, milestones=config.noise.milestones
  )
  p_of = (lambda epoch: 1.0) if config.method == "sg" else noise
  loss_fn = losses.get_loss(config.loss)

  step_fn = make_train_step(graphdef, tx, loss_fn)
  if config.method == "sg":  # p = 1 exactly, known at trace time: no mask is ever sampled
    step_fn = functools.partial(_with_p_one, step_fn)
  options = compiler_options()
  train_step = jax.jit(
    step_fn, out_shardings=(rep, rep), donate_argnums=0, compiler_options=options
  )
  eval_step = jax.jit(make_eval_step(graphdef), out_shardings=rep, compiler_options=options)
  key = jax.random.key(config.seed)

  ckpt = ckpt_lib.Checkpointer(workdir)
  start_step = 0
  history: list[dict[str, float]] = []
  if ckpt.latest_step() is not None:
    restored = ckpt.restore(ckpt.latest_step(), {"state": state})
    state = jax.device_put(restored["state"], rep)
    start_step = int(state.step)
    history = read_history(workdir, up_to_step=start_step)
    print(f"Resuming from step {start_step} ({ckpt.path})", file=sys.stderr)

  writer = MetricWriter(workdir)
  bar = ProgressBar(total_steps, start=start_step, every=config.get("log_every", 50))

  def evaluate(split: str, p: float) -> dict[str, float]:
    sums: dict[str, float] = {}
    for batch in dataset.eval_batches(split, config.batch_size):
      out = jax.device_get(eval_step(state, parallel.shard_batch(batch, mesh), key, jnp.float32(p)))
      for k, v in out.items():
        sums[k] = sums.get(k, 0.0) + float(v)
    if "count" not in sums:
      raise ValueError(f"{getattr(dataset, 'name', 'dataset')}: the {split!r} split is empty")
    n = max(sums.pop("count"), 1.0)
    res = {
      f"{split}_noisy_accuracy": sums.pop("noisy_correct") / n,
      f"{split}_snn_accuracy": sums.pop("snn_correct") / n,
    }
    res.update({f"{split}_{k}": v / n for k, v in sums.items()})
    return res

  pending = None  # metrics of the previous step, read one step late (no host sync per step)
  last_good = start_step
  train_sums: dict[str, float] = {}

  def consume(step_done: int, metrics) -> None:
    m = jax.device_get(metrics)
    if not np.isfinite(m["loss"]):
      raise FloatingPointError(
        f"non-finite training loss ({m['loss']}) at step {step_done}; stopping. The last good "
        f"checkpoint (step {last_good}) is kept in {ckpt.path}."
      )
    for k, v in m.items():
      train_sums[k] = train_sums.get(k, 0.0) + float(v)
    train_sums["_n"] = train_sums.get("_n", 0.0) + 1
    bar.update(step_done, f"loss {float(m['loss']):.4f} acc {float(m['accuracy']):.3f}")

  step = start_step
  try:
    while step < total_steps:
      epoch, index = divmod(step, steps_per_epoch)
      p = p_of(epoch)
      batch = dataset.train_batch(
        seed=config.seed, epoch=epoch, index=index, batch_size=config.batch_size
      )
      new_state, metrics = train_step(state, parallel.shard_batch(batch, mesh), key, jnp.float32(p))
      if pending is not None:
        consume(*pending)
      state, pending = new_state, (step + 1, metrics)
      step += 1
      if step % steps_per_epoch == 0 or step == total_steps:
        consume(*pending)
        pending = None
        n = train_sums.pop("_n", 1.0)
        rec = {f"train_{k}": v / n for k, v in train_sums.items()}
        train_sums.clear()
        rec.update(evaluate("validation", p))
        rec["epoch"] = epoch + 1
        rec["p"] = p
        rec["learning_rate"] = float(lr(step))
        rec.update({f"width/{k}": v for k, v in widths(state.params).items()})
        if config.get("analysis_examples", 0):
          rec.update(epoch_analysis(graphdef, state, dataset, config, key, p))
        history.append(rec)
        writer.write(step, rec)
        print(
          f"epoch {epoch + 1}/{num_epochs} step {step}: loss {rec['train_loss']:.4f} "
          f"val SNN {rec['validation_snn_accuracy']:.4f} noisy {rec['validation_noisy_accuracy']:.4f} p {p:.3f}",
          file=sys.stderr,
        )
        ckpt.save(step, {"state": state})
        last_good = step
  finally:
    writer.close()

  test = evaluate("test", p_of(max(num_epochs - 1, 0)))
  summary = {
    "test_snn_accuracy": test["test_snn_accuracy"],
    "test_noisy_accuracy": test["test_noisy_accuracy"],
    "val_snn_accuracy": history[-1]["validation_snn_accuracy"] if history else float("nan"),
    "final_train_loss": history[-1]["train_loss"] if history else float("nan"),
    "steps": int(step),
    "epochs": num_epochs,
    "wall_seconds": time.perf_counter() - t_start,
    "num_devices": n_dev,
    # whether malloc ran with transparent huge pages (relaunch_with_hugepages): wall time only
    "host_hugepages": HUGEPAGE_TUNABLE in os.environ.get("GLIBC_TUNABLES", ""),
    "num_classes": dataset.num_classes,
    "method": config.method,
    "num_params": models.count_params(model),
    "widths": widths(state.params),
    "test_firing_rates": {
      k[len("test_rate/") :]: v for k, v in test.items() if k.startswith("test_rate/")
    },
  }
  if config.get("analysis_examples", 0):
    final_analysis(
      graphdef, state, dataset, config, key, p_of(max(num_epochs - 1, 0)), workdir, summary
    )
  with open(os.path.join(workdir, "summary.json"), "w") as f:
    json.dump(summary, f, indent=2)
  ckpt.close()
  try:
    plot_history(history, os.path.join(workdir, "curves.png"))
  except ImportError:
    pass
  summary["final_state"] = state
  return summary


def _analysis_batch(dataset, config):
  n = config.analysis_examples
  batch = next(dataset.eval_batches("validation", n))
  return jnp.asarray(batch["image"][: int(batch["mask"].sum())])


def epoch_analysis(graphdef, state, dataset, config, key, p) -> dict[str, float]:
  """Per-layer smoothing error, dead fraction and noisy-vs-SNN similarity on the first
  ``config.analysis_examples`` validation examples (logged every epoch)."""
  from asgl_jax import analysis

  model = merge_model(graphdef, jax.device_get(state.params), jax.device_get(state.batch_stats))
  x = _analysis_batch(dataset, config)
  keys = example_keys(key, jnp.int32(0), x.shape[0])
  stats = analysis.spike_statistics(model, x)
  sim = analysis.noisy_snn_similarity(model, x, key=keys, p=p)
  out = {}
  for layer, st in stats.items():
    out[f"smoothing_error/{layer}"] = st["smoothing_error"]
    out[f"dead_fraction/{layer}"] = st["dead_fraction"]
    out[f"noisy_snn_cosine/{layer}"] = sim[layer]
  return out


def final_analysis(graphdef, state, dataset, config, key, p, workdir, summary) -> None:
  """Writes ``analysis.json`` and ``analysis.png`` (spike statistics and energy, App. B.2)."""
  from asgl_jax import analysis

  model = merge_model(graphdef, jax.device_get(state.params), jax.device_get(state.batch_stats))
  x = _analysis_batch(dataset, config)
  res = analysis.analyze(model, x, key=example_keys(key, jnp.int32(0), x.shape[0]), p=p)
  analysis.write_analysis(res, os.path.join(workdir, "analysis.json"))
  summary["energy_ratio"] = res["energy"]["energy_ratio"]
  try:
    analysis.plot_analysis(res, os.path.join(workdir, "analysis.png"))
  except ImportError:
    pass


def read_history(workdir: str, *, up_to_step: int) -> list[dict[str, float]]:
  """Per-epoch records of ``<workdir>/metrics.jsonl`` up to ``up_to_step`` (a record written
  after the last checkpoint by a killed run is dropped; a rewritten step keeps its last copy)."""
  path = os.path.join(workdir, "metrics.jsonl")
  if not os.path.exists(path):
    return []
  by_step: dict[int, dict[str, float]] = {}
  with open(path) as f:
    for line in f:
      if line.strip():
        rec = json.loads(line)
        if rec["step"] <= up_to_step:
          by_step[rec["step"]] = rec
  return [by_step[k] for k in sorted(by_step)]


def plot_history(history: list[dict[str, float]], path: str) -> None:
  """Learning curves (loss, validation accuracies, p) and per-layer widths to a PNG."""
  from matplotlib.figure import Figure  # no pyplot: no global backend, no open windows

  if not history:
    return
  ep = [r["epoch"] for r in history]
  fig = Figure(figsize=(15, 4))
  ax = fig.subplots(1, 3)
  ax[0].plot(ep, [r["train_loss"] for r in history], label="train loss")
  ax[0].set_xlabel("epoch")
  ax[0].set_ylabel("loss")
  ax[0].legend()
  ax[1].plot(ep, [r["validation_snn_accuracy"] for r in history], label="val: embedded SNN")
  ax[1].plot(
    ep, [r["validation_noisy_accuracy"] for r in history], label="val: noisy network", ls="--"
  )
  ax[1].plot(ep, [r["train_accuracy"] for r in history], label="train (noisy)", ls=":")
  ax[1].plot(ep, [r["p"] for r in history], label="p (spike-mode prob.)", color="gray", lw=0.8)
  ax[1].set_xlabel("epoch")
  ax[1].set_ylabel("accuracy")
  ax[1].legend()
  for k in sorted(k for k in history[-1] if k.startswith("width/")):
    ax[2].plot(ep, [r.get(k, np.nan) for r in history], label=k[len("width/") :])
  ax[2].set_xlabel("epoch")
  ax[2].set_ylabel("width α")
  ax[2].set_yscale("log")
  ax[2].legend(fontsize=6)
  fig.tight_layout()
  fig.savefig(path, dpi=100)

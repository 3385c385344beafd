"""Pure training and evaluation steps: no config, no I/O.

The model is split once into a graph definition and state (:func:`split_model`); the steps
are plain functions ``(state, batch, key, p) -> ...`` that ``nnx.merge`` inside, for
``jax.jit`` over a ``'data'`` mesh (parameters replicated, batch sharded). Masks come from
``fold_in(fold_in(seed_key, step), global_example_index)`` and then the layer and time step,
so one seed gives the same run on 1 or N devices.

What a step computes from the network's outputs ``[T, B, ...]`` is a seam: ``loss_fn`` and
``metrics_fn`` for training, ``score_fn`` (per-example scores) for evaluation, each given the
batch entry named ``target``. The defaults classify (``target="label"``); the spiking
autoencoder reconstructs its input (``target="image"``, :func:`reconstruction_scores`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from asgl_jax import nn

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
  """``nnx.split`` into ``(graphdef, params, batch_stats)``; params split into weights and spiking.

  Example:
    >>> from flax import nnx
    >>> from asgl_jax import models, train
    >>> model = models.get_model("mlp", num_classes=3, time_steps=2, in_features=4,
    ...                          hidden=(5,), rngs=nnx.Rngs(0))
    >>> graphdef, params, stats = train.split_model(model)
    >>> sorted(params)
    ['spiking', 'weights']
  """
  graphdef, spiking, weights, stats = nnx.split(model, nn.SpikingParam, nnx.Param, nnx.BatchStat)
  pure = nnx.to_pure_dict
  return graphdef, {"weights": pure(weights), "spiking": pure(spiking)}, pure(stats)


def merge_model(graphdef, params, batch_stats) -> nnx.Module:
  """The inverse of :func:`split_model`: an NNX module carrying ``params`` and ``batch_stats``."""
  return nnx.merge(graphdef, params["spiking"], params["weights"], batch_stats)


def example_keys(key: Array, step: Array, batch_size: int) -> Array:
  """Per-example mask keys ``fold_in(fold_in(key, step), i)`` for global example index ``i``.

  Example:
    >>> import jax
    >>> from asgl_jax import train
    >>> train.example_keys(jax.random.key(0), 3, 4).shape
    (4,)
  """
  step_key = jax.random.fold_in(key, step)
  return jax.vmap(lambda i: jax.random.fold_in(step_key, i))(jnp.arange(batch_size))


def classification_metrics(outputs: Array, labels: Array) -> dict[str, Array]:
  """Batch accuracy of the time-mean readout (paper §3)."""
  return {"accuracy": jnp.mean(jnp.argmax(jnp.mean(outputs, axis=0), -1) == labels)}


def classification_scores(outputs: Array, labels: Array) -> dict[str, Array]:
  """Per-example correctness (0/1) of the time-mean readout."""
  return {"accuracy": (jnp.argmax(outputs.mean(0), -1) == labels).astype(jnp.float32)}


def class_count_scores(outputs: Array, labels: Array, *, num_classes: int) -> dict[str, Array]:
  """:func:`classification_scores` plus per-example one-hot indicators whose sums are the
  confusion counts of each class ``c``: ``tp/c`` (predicted c and labelled c), ``pred/c``
  and ``true/c``. :func:`precision_recall_f1` turns the sums into the macro scores."""
  pred = jnp.argmax(outputs.mean(0), -1)
  out = {"accuracy": (pred == labels).astype(jnp.float32)}
  for c in range(num_classes):
    p, t = pred == c, labels == c
    out[f"tp/{c}"] = (p & t).astype(jnp.float32)
    out[f"pred/{c}"] = p.astype(jnp.float32)
    out[f"true/{c}"] = t.astype(jnp.float32)
  return out


def precision_recall_f1(scores: dict[str, float]) -> dict[str, float]:
  """Replaces the class counts of :func:`class_count_scores` (summed, or averaged: only ratios
  are used) under each prefix (``"test_snn_"`` ...) by the macro-averaged precision, recall
  and F1 over the classes present in the labels (a class never predicted has precision 0).

  Example:
    >>> from asgl_jax.train import step
    >>> s = {"x_tp/0": 1, "x_pred/0": 1, "x_true/0": 2, "x_tp/1": 1, "x_pred/1": 2, "x_true/1": 1}
    >>> {k: round(v, 4) for k, v in step.precision_recall_f1(s).items()}
    {'x_precision': 0.75, 'x_recall': 0.75, 'x_f1': 0.6667}
  """
  out, counts = {}, {}
  for k, v in scores.items():
    head, sep, cls = k.rpartition("/")
    for kind in ("tp", "pred", "true"):
      if sep and head.endswith(kind) and cls.isdigit():
        counts.setdefault(head[: -len(kind)], {}).setdefault(int(cls), {})[kind] = float(v)
        break
    else:
      out[k] = v
  for prefix, by_class in counts.items():
    present = [c for c in by_class.values() if c.get("true", 0.0) > 0]
    prec = [c["tp"] / c["pred"] if c.get("pred", 0.0) > 0 else 0.0 for c in present]
    rec = [c["tp"] / c["true"] for c in present]
    f1 = [2 * c["tp"] / (c["pred"] + c["true"]) for c in present]
    n = max(len(present), 1)
    out[f"{prefix}precision"] = sum(prec) / n
    out[f"{prefix}recall"] = sum(rec) / n
    out[f"{prefix}f1"] = sum(f1) / n
  return out


def reconstruction_scores(outputs: Array, images: Array) -> dict[str, Array]:
  """Per-example PSNR (dB, pixels in ``[0, 1]``) of the clipped time-mean reconstruction."""
  recon = jnp.clip(outputs.mean(0), 0.0, 1.0)
  mse = jnp.mean((recon - images) ** 2, axis=tuple(range(1, images.ndim)))
  return {"psnr": 10.0 * jnp.log10(1.0 / jnp.maximum(mse, 1e-12))}


FINITE_CHECKS = ("inputs", "parameters", "gradients", "loss")


def _all_finite(tree) -> Array:
  leaves = [
    jnp.all(jnp.isfinite(x))
    for x in jax.tree_util.tree_leaves(tree)
    if jnp.issubdtype(jnp.asarray(x).dtype, jnp.inexact)
  ]
  return jnp.all(jnp.stack(leaves)) if leaves else jnp.bool_(True)


def cast_for_compute(params, x, dtype):
  """Mixed precision: the weights and a floating input ``x`` in ``dtype`` (e.g. bfloat16) for
  the forward and backward pass; the spiking parameters (widths, decays) stay float32, so do
  the parameters the optimizer keeps, BN's statistics and the loss. ``dtype=None``: as they are.

  Example:
    >>> import jax.numpy as jnp
    >>> from asgl_jax.train import step
    >>> p = {"weights": {"w": jnp.ones(2)}, "spiking": {"log_alpha": jnp.zeros(())}}
    >>> q, x = step.cast_for_compute(p, jnp.ones(3), jnp.bfloat16)
    >>> q["weights"]["w"].dtype, q["spiking"]["log_alpha"].dtype, x.dtype
    (dtype(bfloat16), dtype('float32'), dtype(bfloat16))
  """
  if dtype is None:
    return params, x

  def cast(v):
    return v.astype(dtype) if jnp.issubdtype(v.dtype, jnp.floating) else v

  weights = jax.tree.map(cast, params["weights"])
  return {**params, "weights": weights}, cast(jnp.asarray(x))


def _like(new, old):
  """``new`` with the dtypes of ``old`` (BN statistics stay in the dtype they are kept in)."""
  return jax.tree.map(lambda n, o: jnp.asarray(n).astype(jnp.asarray(o).dtype), new, old)


def make_train_step(
  graphdef,
  tx: optax.GradientTransformation,
  loss_fn: Callable[[Array, Array], Array],
  *,
  metrics_fn: Callable[[Array, Array], dict[str, Array]] = classification_metrics,
  target: str = "label",
  fixed_p: float | None = None,
  compute_dtype=None,
) -> Callable:
  """``(state, batch, key, p) -> (state, metrics)``; jit it with ``compiler_options()``.

  Args:
    graphdef: from :func:`split_model`.
    tx: the optimizer over ``{"weights", "spiking"}`` (:func:`asgl_jax.optim.make_optimizer`).
    loss_fn: ``(outputs [T, B, ...], batch[target]) -> scalar`` (e.g.
      :func:`asgl_jax.losses.cross_entropy`).
    metrics_fn: ``(outputs, batch[target]) -> {name: scalar}``, logged with the loss and the
      weights' gradient norm.
    target: the batch entry the loss compares with (``"label"``, or ``"image"`` to reconstruct).
    fixed_p: a spike-mode probability known at trace time (``1.0`` for SG: no mask is ever
      sampled); the step's ``p`` argument is then ignored.
    compute_dtype: ``None`` (float32) or e.g. ``jnp.bfloat16``: mixed precision
      (:func:`cast_for_compute`); the outputs are cast to float32 before the loss.

  ``metrics["finite"]`` holds four flags, 1 where everything is finite: the inputs, the
  parameters the step started from, the gradients and the loss. At p = 1 a NaN becomes a
  silent zero spike with zero gradient, so the loss alone does not show it; the loop reads the
  flags one step late (no host sync per step) and stops on the first 0
  (:data:`FINITE_CHECKS` names them).
  """

  def train_step(state: TrainState, batch, key, p):
    if fixed_p is not None:
      p = fixed_p
    keys = example_keys(key, state.step, batch["image"].shape[0])

    def compute_loss(params, batch_stats):
      params, x = cast_for_compute(params, batch["image"], compute_dtype)
      model = merge_model(graphdef, params, batch_stats)
      out = model(x, key=keys, p=p, train=True).astype(jnp.float32)
      return loss_fn(out, batch[target]), (out, nnx.to_pure_dict(nnx.state(model, nnx.BatchStat)))

    (loss, (out, stats)), grads = jax.value_and_grad(compute_loss, has_aux=True)(
      state.params, state.batch_stats
    )
    stats = _like(stats, state.batch_stats)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    metrics = {
      "loss": loss,
      **metrics_fn(out, batch[target]),
      "grad_norm": optax.tree.norm(grads["weights"]),
      "finite": jnp.stack(
        [
          _all_finite(batch["image"]),
          _all_finite(state.params),
          _all_finite(grads),
          jnp.isfinite(loss),
        ]
      ).astype(jnp.float32),
    }
    return TrainState(state.step + 1, params, stats, opt_state), metrics

  return train_step


def make_eval_step(
  graphdef,
  *,
  score_fn: Callable[[Array, Array], dict[str, Array]] = classification_scores,
  target: str = "label",
  compute_dtype=None,
) -> Callable:
  """``(state, batch, key, p) -> sums`` over the batch's real examples (``batch["mask"]``).

  ``count``; ``noisy_<score>`` and ``snn_<score>``: the sums of ``score_fn``'s per-example
  scores for the noisy network (masks at probability ``p``, BN statistics frozen) and for the
  embedded SNN (pure spikes); ``rate/<layer>``: the SNN's per-layer firing rates times the
  batch size, for averaging.
  """

  def eval_step(state: TrainState, batch, key, p):
    mask = batch["mask"].astype(jnp.float32)
    keys = example_keys(key, jnp.int32(0), batch["image"].shape[0])
    params, x = cast_for_compute(state.params, batch["image"], compute_dtype)
    model = merge_model(graphdef, params, state.batch_stats)
    # The noisy network: masks at probability p, BN with its running statistics.
    model.set_attributes(use_running_average=True, raise_if_not_found=False)
    noisy = model(x, key=keys, p=p, train=True).astype(jnp.float32)
    # The embedded SNN (pure spikes), recording each spiking layer's firing rate.
    model.set_attributes(record="rates", raise_if_not_found=False)
    snn, rates = nnx.capture(model, nnx.Intermediate)(x, train=False)
    snn = snn.astype(jnp.float32)
    n = jnp.sum(mask)
    flat = {k.replace("/firing_rate/0", ""): v for k, v in flatten(nnx.to_pure_dict(rates)).items()}
    out = {"count": n}
    for prefix, outputs in (("noisy", noisy), ("snn", snn)):
      for k, v in score_fn(outputs, batch[target]).items():
        out[f"{prefix}_{k}"] = jnp.sum(mask * v)
    out.update({f"rate/{k}": jnp.sum(jnp.asarray(v)) * n for k, v in flat.items()})
    return out

  return eval_step


def widths(params) -> dict[str, float]:
  """Mean width of each spiking layer, by parameter path: ``α = exp(log α)``, or ``α = 1/a``
  for layers that learn the sharpness ``a`` (:class:`asgl_jax.nn.Sharpness`)."""
  out = {}
  for k, v in flatten(params["spiking"]).items():
    if k.endswith("/log_alpha"):
      out[k[: -len("/log_alpha")]] = float(jnp.mean(jnp.exp(v)))
    elif k.endswith("/sharpness"):
      out[k[: -len("/sharpness")]] = float(jnp.mean(1.0 / jnp.maximum(v, nn.MIN_SHARPNESS)))
  return out


def flatten(tree) -> dict[str, Any]:
  """``{"a": {"b": x}} -> {"a/b": x}`` (tuples from ``sow`` are flattened as ``.../0``).

  Example:
    >>> from asgl_jax import train
    >>> train.flatten({"a": {"b": 1}, "c": (2,)})
    {'a/b': 1, 'c/0': 2}
  """
  out = {}
  for path, v in jax.tree_util.tree_flatten_with_path(tree)[0]:
    out["/".join(str(getattr(k, "key", getattr(k, "idx", k))) for k in path)] = v
  return out

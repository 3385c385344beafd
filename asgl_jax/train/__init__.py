"""Functional training and evaluation of ASGL spiking networks.

- :mod:`asgl_jax.train.step`: pure, jittable steps ``(state, batch, key, p) -> ...`` (no
  config, no I/O) with a ``loss_fn`` / ``metrics_fn`` / ``score_fn`` seam.
- :mod:`asgl_jax.train.builder`: the only reader of an ``ml_collections`` config; resolves it
  once into a :class:`Run`.
- :mod:`asgl_jax.train.loop`: :func:`train_and_evaluate`, the loop every experiment main runs.
- :mod:`asgl_jax.train.reporting`: progress line, ``metrics.jsonl``/TensorBoard, curves.

Example:
  >>> import jax, jax.numpy as jnp, optax
  >>> from flax import nnx
  >>> from asgl_jax import losses, models, train
  >>> model = models.get_model("mlp", num_classes=3, time_steps=2, in_features=4,
  ...                          hidden=(8,), rngs=nnx.Rngs(0))
  >>> graphdef, params, stats = train.split_model(model)
  >>> tx = optax.sgd(0.1)
  >>> state = train.TrainState(jnp.int32(0), params, stats, tx.init(params))
  >>> step = jax.jit(train.make_train_step(graphdef, tx, losses.cross_entropy))
  >>> batch = {"image": jnp.ones((5, 4)), "label": jnp.arange(5) % 3}
  >>> state, metrics = step(state, batch, jax.random.key(0), 0.8)
  >>> int(state.step), sorted(metrics)
  (1, ['accuracy', 'finite', 'grad_norm', 'loss'])
"""

from asgl_jax._backend import compiler_options, relaunch_with_hugepages
from asgl_jax.train.builder import (
  Run,
  build_model,
  build_optimizer,
  build_run,
  model_from_state,
  restore_model,
  validate_config,
)
from asgl_jax.train.loop import run_training, train_and_evaluate
from asgl_jax.train.reporting import MetricWriter, ProgressBar, plot_history, read_history
from asgl_jax.train.step import (
  TrainState,
  classification_metrics,
  classification_scores,
  example_keys,
  flatten,
  make_eval_step,
  make_train_step,
  merge_model,
  reconstruction_scores,
  split_model,
  widths,
)

__all__ = [
  "MetricWriter",
  "ProgressBar",
  "Run",
  "TrainState",
  "build_model",
  "build_optimizer",
  "build_run",
  "classification_metrics",
  "classification_scores",
  "compiler_options",
  "example_keys",
  "flatten",
  "make_eval_step",
  "make_train_step",
  "merge_model",
  "model_from_state",
  "plot_history",
  "read_history",
  "reconstruction_scores",
  "relaunch_with_hugepages",
  "restore_model",
  "run_training",
  "split_model",
  "train_and_evaluate",
  "validate_config",
  "widths",
]

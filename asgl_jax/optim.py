"""Optimizers: one optax transform with separate rules for weights and spiking parameters.

DESIGN §1 / released code: synaptic weights use SGD (momentum 0.9), lr 0.1 with
a cosine schedule and weight decay 5e-4 on conv/dense kernels only (BN
parameters and biases are not decayed); widths and decay logits
(:class:`asgl_jax.nn.SpikingParam`) use their own Adam, lr 3e-4, no weight
decay and no schedule. ``method="sg"`` freezes the widths (plain
surrogate-gradient learning).

The parameters are a dict ``{"weights": ..., "spiking": ...}`` (see
:func:`asgl_jax.train.split_model`).
"""

from __future__ import annotations

import jax
import optax


def _is_kernel(path, _) -> bool:
  last = path[-1]
  name = getattr(last, "key", getattr(last, "name", last))
  return str(name).endswith("kernel")


def weight_decay_mask(params):
  """``True`` at conv/dense kernels (names ending in ``kernel``), ``False`` elsewhere."""
  return jax.tree_util.tree_map_with_path(_is_kernel, params)


def make_optimizer(
  *,
  lr_schedule,
  optimizer: str = "sgd",
  momentum: float = 0.9,
  weight_decay: float = 5e-4,
  spiking_lr: float = 3e-4,
  spiking_optimizer: str = "adam",
  method: str = "asgl",
  grad_clip: float | None = None,
) -> optax.GradientTransformation:
  """Builds the two-part optimizer for ``{"weights": ..., "spiking": ...}`` parameters.

  Args:
    lr_schedule: learning rate (float or optax schedule) of the weights.
    optimizer: ``"sgd"`` (with ``momentum``) or ``"adam"`` for the weights.
    weight_decay: L2 coefficient added to kernel gradients (PyTorch-style coupled decay).
    spiking_lr: learning rate of widths and decays (constant).
    spiking_optimizer: ``"adam"`` or ``"sgd"``.
    method: ``"asgl"`` (widths learned) or ``"sg"`` (widths and decays frozen).
    grad_clip: optional global-norm clipping of the weight gradients.
  """
  if method not in ("asgl", "sg"):
    raise ValueError(f"make_optimizer: method must be 'asgl' or 'sg', got {method!r}")
  if optimizer == "sgd":
    base = optax.sgd(lr_schedule, momentum=momentum or None)
  elif optimizer == "adam":
    base = optax.adam(lr_schedule)
  else:
    raise ValueError(f"make_optimizer: optimizer must be 'sgd' or 'adam', got {optimizer!r}")
  parts = []
  if grad_clip:
    parts.append(optax.clip_by_global_norm(grad_clip))
  if weight_decay:
    parts.append(optax.add_decayed_weights(weight_decay, mask=weight_decay_mask))
  weights_tx = optax.chain(*parts, base)
  if method == "sg":
    spiking_tx = optax.set_to_zero()
  elif spiking_optimizer == "adam":
    spiking_tx = optax.adam(spiking_lr)
  elif spiking_optimizer == "sgd":
    spiking_tx = optax.sgd(spiking_lr)
  else:
    raise ValueError(
      f"make_optimizer: spiking_optimizer must be 'adam' or 'sgd', got {spiking_optimizer!r}"
    )
  return optax.multi_transform(
    {"weights": weights_tx, "spiking": spiking_tx},
    lambda params: {k: jax.tree_util.tree_map(lambda _, k=k: k, v) for k, v in params.items()},
  )

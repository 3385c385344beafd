"""Losses on per-time-step outputs ``[T, B, C]``."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

Array = jax.Array


def _check(fn: str, outputs: Array, labels: Array) -> None:
  if outputs.ndim != 3:
    raise ValueError(f"{fn}: outputs must be [T, B, C], got shape {outputs.shape}")
  if labels.shape != outputs.shape[1:2]:
    raise ValueError(f"{fn}: labels must be [B] = [{outputs.shape[1]}], got shape {labels.shape}")


def cross_entropy(outputs: Array, labels: Array) -> Array:
  """Cross-entropy of the time-mean readout (paper Eq. 5): ``CE(mean_t o[t], y)``, averaged over B."""
  _check("cross_entropy", outputs, labels)
  logits = jnp.mean(outputs.astype(jnp.float32), axis=0)
  return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, labels))


def tet_loss(outputs: Array, labels: Array, *, lam: float = 1e-3, phi: float = 1.0) -> Array:
  """TET loss (Deng et al., 2022), as the released DVS code uses it.

  ``(1 − λ)·mean_t CE(o[t], y) + λ·mean((o − φ)²)``.
  """
  _check("tet_loss", outputs, labels)
  o = outputs.astype(jnp.float32)
  ce = optax.softmax_cross_entropy_with_integer_labels(o, labels[None, :])  # [T, B]
  return (1.0 - lam) * jnp.mean(ce) + lam * jnp.mean((o - phi) ** 2)


def reconstruction_mse(outputs: Array, targets: Array) -> Array:
  """Mean squared error of the time-mean output against the input it reconstructs (paper
  App. B.3, the spiking autoencoder): ``mean((mean_t o[t] − x)²)``.

  Example:
    >>> import jax.numpy as jnp
    >>> from asgl_jax import losses
    >>> losses.reconstruction_mse(jnp.ones((2, 1, 3)), jnp.zeros((1, 3)))
    Array(1., dtype=float32)
  """
  if outputs.shape[1:] != targets.shape:
    raise ValueError(
      f"reconstruction_mse: outputs [T, *x.shape] needed, got {outputs.shape} for x {targets.shape}"
    )
  return jnp.mean((outputs.mean(0) - targets) ** 2)


LOSSES = {"ce": cross_entropy, "tet": tet_loss, "mse": reconstruction_mse}


def get_loss(name: str):
  """Loss by name: ``"ce"``, ``"tet"`` or ``"mse"`` (reconstruction)."""
  try:
    return LOSSES[name]
  except KeyError:
    raise ValueError(f"unknown loss {name!r}; valid names: {', '.join(sorted(LOSSES))}") from None

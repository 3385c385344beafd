"""Forwarding functions H_α: smooth stand-ins for the Heaviside step.

ASGL (Wang et al., ICML 2023, §4.2) replaces the spike ``Θ(u)`` by a mixture of
``Θ(u)`` and a *forwarding function* ``H_α(u)`` whose derivative is the usual
surrogate gradient and whose width ``α > 0`` is learned. Every forwarding
function here maps ``u`` (membrane potential minus threshold) to ``[0, 1]`` and
depends on ``u`` and ``α`` only through ``x = u / α``::

    H_α(u) = h(u / α),   ∂H/∂u = h'(x) / α,   ∂H/∂α = -x · h'(x) / α.

Built-in functions (``x = u / α``)::

  =========  ==============================================  ============================
  name       H_α(u)                                          ∂H/∂u
  =========  ==============================================  ============================
  rect       clip(x + 1/2, 0, 1)  (paper Eq. 8)               1/α on |u| < α/2, else 0
  sigmoid    σ(x) = 1 / (1 + e^{-x})                          σ(x)(1 - σ(x)) / α
  tanh       (tanh(x) + 1) / 2  (paper §5.5, App. B.3)        (1 - tanh²(x)) / (2α)
  atan       1/2 + arctan(x) / π                              1 / (π α (1 + x²))
  dspike     1/2 + tanh(b x) / (2 tanh(b/2)) on |x| < 1/2     b (1 - tanh²(bx)) / (2α tanh(b/2))
             (Li et al., 2021; temperature b = 3)             on |u| < α/2, else 0
  =========  ==============================================  ============================

At the edges of the support of ``rect`` and ``dspike`` (``|u| = α/2``) the
derivatives are 0: the support is open, as in the paper's Eq. 8.

The built-ins compute ``x`` as ``u · (1/α)``, one reciprocal per α (XLA keeps a
tensor-sized quotient ``u / α`` as a buffer of its own; docs/performance.md). ``x``
may differ from ``u / α`` in the last bit.

Users add their own with :func:`register_surrogate`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp

Array = jax.Array
ForwardFn = Callable[[Array, Array], Array]
GradFn = Callable[[Array, Array], tuple[Array, Array]]


@dataclasses.dataclass(frozen=True, eq=False)
class Surrogate:
  """A forwarding function ``H_α(u)`` and its partial derivatives.

  Attributes:
    name: registry name.
    forward: ``(u, alpha) -> H_α(u)``, elementwise, values in ``[0, 1]``.
    grad: ``(u, alpha) -> (∂H/∂u, ∂H/∂α)``, elementwise (same shape as ``u``).
  """

  name: str
  forward: ForwardFn
  grad: GradFn

  def __repr__(self) -> str:
    return f"Surrogate({self.name!r})"


_REGISTRY: dict[str, Surrogate] = {}


def _autodiff_grad(forward: ForwardFn) -> GradFn:
  """Elementwise partial derivatives of ``forward`` by forward-mode autodiff."""

  def grad(u, alpha):
    alpha = jnp.broadcast_to(alpha, u.shape)
    _, du = jax.jvp(forward, (u, alpha), (jnp.ones_like(u), jnp.zeros_like(alpha)))
    _, da = jax.jvp(forward, (u, alpha), (jnp.zeros_like(u), jnp.ones_like(alpha)))
    return du, da

  return grad


def register_surrogate(
  name: str,
  forward: ForwardFn,
  grad: GradFn | None = None,
  *,
  overwrite: bool = False,
) -> Surrogate:
  """Registers a forwarding function ``H_α`` under ``name``.

  The function then works everywhere a surrogate name is accepted
  (:func:`asgl_jax.spike`, :func:`asgl_jax.lif`, the layers in
  :mod:`asgl_jax.nn`).

  Args:
    name: the name to register.
    forward: ``(u, alpha) -> H_α(u)``, elementwise and differentiable; it
      should map to ``[0, 1]`` and approach ``Θ(u)`` as ``α → 0`` (paper §4.2).
    grad: optional ``(u, alpha) -> (∂H/∂u, ∂H/∂α)``. If omitted, both are
      obtained from ``forward`` with forward-mode autodiff in the backward pass.
      (Multiplying ``u`` by ``1 / alpha`` rather than dividing it by ``alpha``
      is faster on CPU; see the module docstring.)
    overwrite: allow replacing an existing entry.

  Returns:
    The registered :class:`Surrogate`.

  Example:
    >>> import jax.numpy as jnp
    >>> import asgl_jax
    >>> s = asgl_jax.register_surrogate(
    ...     "erf_demo", lambda u, a: 0.5 * (1 + jax.scipy.special.erf(u / a)),
    ...     overwrite=True)
    >>> asgl_jax.spike(jnp.array([0.3]), 1.0, surrogate="erf_demo", p=0.0)
    Array([0.6643...], dtype=float32)
  """
  if not isinstance(name, str) or not name:
    raise ValueError(f"register_surrogate: name must be a non-empty string, got {name!r}")
  if not callable(forward):
    raise TypeError(f"register_surrogate: forward must be callable, got {forward!r}")
  if grad is not None and not callable(grad):
    raise TypeError(f"register_surrogate: grad must be callable or None, got {grad!r}")
  if name in _REGISTRY and not overwrite:
    raise ValueError(
      f"register_surrogate: {name!r} is already registered; pass overwrite=True to replace it"
    )
  sur = Surrogate(name, forward, grad if grad is not None else _autodiff_grad(forward))
  _REGISTRY[name] = sur
  return sur


def available_surrogates() -> tuple[str, ...]:
  """Names of all registered forwarding functions, sorted.

  Example:
    >>> import jax, jax.numpy as jnp, asgl_jax
    >>> {"rect", "sigmoid", "tanh", "atan", "dspike"} <= set(asgl_jax.available_surrogates())
    True
  """
  return tuple(sorted(_REGISTRY))


def get_surrogate(surrogate: str | Surrogate) -> Surrogate:
  """Looks up a forwarding function by name (or passes a :class:`Surrogate` through).

  Example:
    >>> import jax, jax.numpy as jnp, asgl_jax
    >>> sigmoid = asgl_jax.get_surrogate("sigmoid")
    >>> float(sigmoid.forward(jnp.float32(0.0), jnp.float32(1.0)))   # σ(0) = 1/2
    0.5
    >>> float(sigmoid.grad(jnp.float32(0.0), jnp.float32(2.0))[0])   # σ'(0)/α = (1/4)/2
    0.125
  """
  if isinstance(surrogate, Surrogate):
    return surrogate
  try:
    return _REGISTRY[surrogate]
  except (KeyError, TypeError):
    raise ValueError(
      f"unknown surrogate {surrogate!r}; valid names: {', '.join(available_surrogates())}"
    ) from None


# ----------------------------------------------------------------------------- built-ins


def _scaled(u, alpha):
  """``(x, 1/α)`` with ``x = u / α`` computed as ``u · (1/α)``.

  The reciprocal is one value per α (a scalar or a per-channel vector). A product, unlike a
  quotient, is cheap enough for XLA to fuse into every consumer: with ``u / α`` the compiler
  kept the quotient as a tensor of its own, written and read back on every layer and step.
  """
  r = 1.0 / alpha
  return u * r, r


def _rect(u, alpha):
  x, _ = _scaled(u, alpha)
  return jnp.clip(x + 0.5, 0.0, 1.0)


def _rect_grad(u, alpha):
  x, r = _scaled(u, alpha)
  inside = jnp.abs(x) < 0.5
  du = jnp.where(inside, r, 0.0)
  return du, -x * du


def _sigmoid(u, alpha):
  return jax.nn.sigmoid(_scaled(u, alpha)[0])


def _sigmoid_grad(u, alpha):
  x, r = _scaled(u, alpha)
  sg = jax.nn.sigmoid(x)
  d = sg * (1.0 - sg) * r
  return d, -x * d


def _tanh(u, alpha):
  return 0.5 * (jnp.tanh(_scaled(u, alpha)[0]) + 1.0)


def _tanh_grad(u, alpha):
  x, r = _scaled(u, alpha)
  t = jnp.tanh(x)
  d = 0.5 * (1.0 - t * t) * r
  return d, -x * d


def _atan(u, alpha):
  return 0.5 + jnp.arctan(_scaled(u, alpha)[0]) / math.pi


def _atan_grad(u, alpha):
  x, r = _scaled(u, alpha)
  d = r / (math.pi * (1.0 + x * x))
  return d, -x * d


def make_dspike(temperature: float = 3.0) -> tuple[ForwardFn, GradFn]:
  """Dspike forwarding function of Li et al. (2021) on the support ``|u| < α/2``.

  ``H_α(u) = 1/2 + tanh(b·u/α) / (2·tanh(b/2))`` clipped to ``[0, 1]``
  (so ``H = 0`` below ``-α/2`` and ``1`` above ``α/2``); ``b`` is the
  temperature. Used by the paper's Table 13.

  Returns:
    ``(forward, grad)`` suitable for :func:`register_surrogate`.

  Example:
    >>> import jax, jax.numpy as jnp, asgl_jax
    >>> forward, grad = asgl_jax.make_dspike(3.0)
    >>> h = forward(jnp.array([-0.5, 0.0, 0.5]), jnp.float32(1.0))   # the edges |u| = α/2
    >>> [round(float(v), 6) for v in h]
    [0.0, 0.5, 1.0]
  """
  if not temperature > 0:
    raise ValueError(f"make_dspike: temperature must be > 0, got {temperature!r}")
  b = float(temperature)
  scale = 1.0 / (2.0 * math.tanh(b / 2.0))

  def forward(u, alpha):
    x = jnp.clip(_scaled(u, alpha)[0], -0.5, 0.5)
    return 0.5 + jnp.tanh(b * x) * scale

  def grad(u, alpha):
    x, r = _scaled(u, alpha)
    inside = jnp.abs(x) < 0.5
    t = jnp.tanh(b * x)
    d = jnp.where(inside, b * (1.0 - t * t) * scale * r, 0.0)
    return d, -x * d

  return forward, grad


register_surrogate("rect", _rect, _rect_grad)
register_surrogate("sigmoid", _sigmoid, _sigmoid_grad)
register_surrogate("tanh", _tanh, _tanh_grad)
register_surrogate("atan", _atan, _atan_grad)
register_surrogate("dspike", *make_dspike(3.0))

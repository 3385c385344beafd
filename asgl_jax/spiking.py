"""The ASGL spike primitive (paper Eq. 10, Algorithm 1) and mask sampling.

In training mode a spiking layer emits::

    s = H_α(u) + m ⊙ stop_gradient(Θ(u) − H_α(u)),      m ~ Bernoulli(p)

i.e. the value is the real spike ``Θ(u)`` where ``m = 1`` (spike mode) and the
analog activation ``H_α(u)`` where ``m = 0``, while the gradient with respect to
``u`` *and* ``α`` always flows through ``H_α`` at every element. ``p`` is the
probability of the **spike** mode (the paper's "noise probability"); the
authors' released code calls ``1 − p`` "p". In evaluation mode ``s = Θ(u)``
exactly: the embedded SNN.

``p = 1`` with a fixed width is plain surrogate-gradient learning; ``p = 0`` is
the analog prototype network. One primitive covers all three.
"""

from __future__ import annotations

import contextlib
import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from asgl_jax import _backend, _checks
from asgl_jax import surrogate as surrogate_lib

Array = jax.Array


def heaviside(u: Array) -> Array:
  """Heaviside step ``Θ(u) = 1[u >= 0]`` (paper Eq. 4), in ``u``'s dtype.

  Fires at equality, as the released code and SpikingJelly do. Its gradient is
  zero everywhere (use :func:`spike` to train).

  Example:
    >>> import jax, jax.numpy as jnp, asgl_jax
    >>> asgl_jax.heaviside(jnp.array([-0.5, 0.0, 0.5]))
    Array([0., 1., 1.], dtype=float32)
  """
  u = jnp.asarray(u)
  _checks.check_floating("heaviside", u)
  return jax.lax.stop_gradient((u >= 0).astype(u.dtype))


class MaskSeed(NamedTuple):
  """Mask seeds drawn ahead of time: ``words`` (uint32 ``[*batch, 2]``) are
  ``jax.random.bits(k, (2,), uint32)`` of each key ``k``. Accepted wherever a key is; the
  neuron scans draw the seeds of all time steps in one vectorised call before the scan
  (:func:`mask_seeds`) instead of one threefry call per step inside it."""

  words: Array


def mask_seed(key) -> MaskSeed:
  """The :class:`MaskSeed` of a key or a batch of keys (same masks as the key itself).

  Example:
    >>> import jax, jax.numpy as jnp, asgl_jax
    >>> from asgl_jax import spiking
    >>> seed = spiking.mask_seed(jax.random.key(0))
    >>> seed.words.shape, seed.words.dtype
    ((2,), dtype('uint32'))
    >>> a = asgl_jax.sample_mask(seed, 0.5, (16,))   # the same masks as the key itself
    >>> bool(jnp.array_equal(a, asgl_jax.sample_mask(jax.random.key(0), 0.5, (16,))))
    True
  """
  if isinstance(key, MaskSeed):
    return key
  batch = _key_batch_shape("mask_seed", key)
  f = functools.partial(jax.random.bits, shape=(2,), dtype=jnp.uint32)
  for _ in batch:
    f = jax.vmap(f)
  return MaskSeed(f(key))


def mask_seeds(key, num_steps: int) -> MaskSeed:
  """Seeds ``[num_steps, *batch, 2]`` of ``fold_in(key, t)`` for ``t = 0 .. num_steps − 1``.

  Example:
    >>> import jax, jax.numpy as jnp, asgl_jax
    >>> from asgl_jax import spiking
    >>> spiking.mask_seeds(jax.random.key(0), 5).words.shape   # [num_steps, 2]
    (5, 2)
  """
  keys = jax.vmap(lambda t: fold_in(key, t))(jnp.arange(num_steps))
  return mask_seed(keys)


def _key_batch_shape(fn: str, key) -> tuple[int, ...]:
  """Shape of the batch of keys (``()`` for a single key); validates the type."""
  if isinstance(key, MaskSeed):
    return key.words.shape[:-1]
  if not isinstance(key, jax.Array | np.ndarray):
    raise TypeError(
      f"{fn}: key must be a JAX PRNG key (jax.random.key or jax.random.PRNGKey), "
      f"got {type(key).__name__}: {key!r}"
    )
  if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
    return key.shape
  if key.dtype == jnp.uint32 and key.ndim >= 1:
    return key.shape[:-1]  # legacy raw key: trailing axis holds the key data
  raise TypeError(
    f"{fn}: key must be a JAX PRNG key (jax.random.key or jax.random.PRNGKey), "
    f"got {type(key).__name__} of dtype {getattr(key, 'dtype', None)}"
  )


# ----------------------------------------------------------------------------- mask sampling


def sample_mask(key, p, shape) -> Array:
  """Samples the ASGL mask ``m ~ Bernoulli(p)`` (1 = spike mode; paper Eq. 10).

  Args:
    key: a PRNG key (typed or legacy uint32), or an array of keys whose batch
      shape is a prefix of ``shape``: then each key draws the mask of its own
      slice (e.g. one key per example, so a mask does not depend on where the
      example sits in the batch).
    p: probability of the spike mode, Python float or traced scalar.
    shape: the mask's shape.

  Returns:
    A boolean array of ``shape``.

  How: each key gives two 32-bit words ``w`` (one threefry call, see :class:`MaskSeed`),
  and element ``n`` of its slice (row-major index) is spike mode when
  ``fmix32(fmix32(n·φ + w₀) ⊕ w₁) / 2³² < p`` (MurmurHash3's finaliser, top 24 bits as
  ``jax.random.uniform``'s resolution). This counter-based hash costs a few integer ops per
  element and fuses into the neuron update; ``jax.random.bernoulli`` runs the 20-round
  threefry per element, which on CPU costs several times more (docs/performance.md).
  Statistically a fresh Bernoulli(p) field per key (rate and correlations are tested); it is
  not a cryptographic generator.

  Example:
    >>> import jax, jax.numpy as jnp, asgl_jax
    >>> m = asgl_jax.sample_mask(jax.random.key(0), 0.8, (100_000,))
    >>> m.dtype, round(float(m.mean()), 2)                       # a Bernoulli(0.8) field
    (dtype('bool'), 0.8)
    >>> asgl_jax.sample_mask(jax.random.key(0), 1.0, (3,))       # p = 1: all spike mode
    Array([ True,  True,  True], dtype=bool)
  """
  _checks.check_p("sample_mask", p)
  shape = tuple(shape)
  batch = _key_batch_shape("sample_mask", key)
  if shape[: len(batch)] != batch:
    raise ValueError(
      f"sample_mask: key batch shape {batch} is not a prefix of the mask shape {shape}"
    )
  words = mask_seed(key).words
  rest = shape[len(batch) :]
  w0, w1 = (words[..., i].reshape(batch + (1,) * len(rest)) for i in range(2))
  n = jax.lax.iota(jnp.uint32, math.prod(rest)).reshape(rest)
  h = _fmix32(_fmix32(n * jnp.uint32(0x9E3779B9) + w0) ^ w1)
  uniform = (h >> 8).astype(jnp.float32) * jnp.float32(2.0**-24)
  return uniform < jnp.asarray(p, jnp.float32)


def _fmix32(h: Array) -> Array:
  """MurmurHash3's 32-bit finaliser: a bijection of uint32 with full avalanche."""
  h = h ^ (h >> 16)
  h = h * jnp.uint32(0x85EBCA6B)
  h = h ^ (h >> 13)
  h = h * jnp.uint32(0xC2B2AE35)
  return h ^ (h >> 16)


def fold_in(key, data) -> Array:
  """``jax.random.fold_in`` that also maps over a batch of keys (see :func:`sample_mask`).

  Example:
    >>> import jax, jax.numpy as jnp, asgl_jax
    >>> keys = jax.random.split(jax.random.key(0), 3)              # one key per example
    >>> folded = asgl_jax.fold_in(keys, 7)
    >>> folded.shape
    (3,)
    >>> bool(jnp.array_equal(jax.random.key_data(folded[1]),
    ...                      jax.random.key_data(jax.random.fold_in(keys[1], 7))))
    True
  """
  if isinstance(key, MaskSeed):
    raise TypeError("fold_in: a MaskSeed cannot be split further; fold the key before mask_seed")
  batch = _key_batch_shape("fold_in", key)
  f = jax.random.fold_in
  for _ in batch:
    f = jax.vmap(f, in_axes=(0, None))
  return f(key, data)


# ----------------------------------------------------------------------------- the primitive


def _compute_dtype(u: Array, alpha: Array):
  return jnp.promote_types(jnp.promote_types(u.dtype, alpha.dtype), jnp.float32)


def spike_value(u, alpha, mask, sur: surrogate_lib.Surrogate, mode: str) -> Array:
  """The value of Eq. 10: ``Θ(u)`` where ``mask`` (spike mode), ``H_α(u)`` elsewhere.

  ``mode`` is ``"mask"`` (value chosen by the boolean ``mask``), ``"spike"`` (``p = 1``: all
  spike mode; ``mask`` unused) or ``"analog"`` (``p = 0``: all ``H_α``). The one forward of
  the primitive: :func:`spike` and the fused neuron scan (:mod:`asgl_jax.fused`) both call it.

  Example:
    >>> import jax, jax.numpy as jnp, asgl_jax
    >>> from asgl_jax import spiking
    >>> rect = asgl_jax.get_surrogate("rect")
    >>> u = jnp.array([-0.25, 0.25])
    >>> spiking.spike_value(u, jnp.float32(1.0), jnp.array([True, False]), rect, "mask")
    Array([0.  , 0.75], dtype=float32)
  """
  if mode == "spike":
    return (u >= 0).astype(u.dtype)
  dt = _compute_dtype(u, alpha)
  h = sur.forward(u.astype(dt), alpha.astype(dt)).astype(u.dtype)
  if mode == "analog":
    return h
  return jnp.where(mask, (u >= 0).astype(u.dtype), h)


@functools.partial(jax.custom_vjp, nondiff_argnums=(3, 4))
def _asgl(u, alpha, mask, sur: surrogate_lib.Surrogate, mode: str):
  return spike_value(u, alpha, mask, sur, mode)


def _asgl_fwd(u, alpha, mask, sur, mode):
  # Residuals: only u and alpha. ∂H/∂u and ∂H/∂α are recomputed in the backward
  # pass; neither H_α(u) nor the mask is needed there (the gradient flows
  # through H_α at every element, whatever the mask).
  return _asgl(u, alpha, mask, sur, mode), (u, alpha)


def _asgl_bwd(sur, mode, res, g):
  del mode
  u, alpha = (jnp.asarray(r) for r in res)
  dt = _compute_dtype(u, alpha)
  du, da = sur.grad(u.astype(dt), jnp.broadcast_to(alpha.astype(dt), u.shape))
  gd = g.astype(dt)
  g_u = (gd * du).astype(u.dtype)
  g_alpha = _backend.param_grad_sum(gd * da, alpha.shape).astype(alpha.dtype)
  return g_u, g_alpha, None


_asgl.defvjp(_asgl_fwd, _asgl_bwd)


def spike_with_mask(u, alpha, mask, *, surrogate: str | surrogate_lib.Surrogate = "rect") -> Array:
  """ASGL spike with an explicit mask (paper Eq. 10).

  ``s = m·Θ(u) + (1 − m)·H_α(u)`` in value; ``∂s/∂u = ∂H_α/∂u`` and
  ``∂s/∂α = ∂H_α/∂α`` at every element (the mask only changes values).

  Args:
    u: membrane potential minus threshold, floating point.
    alpha: width ``α > 0``, any shape broadcastable to ``u``; its cotangent
      is summed over the broadcast axes.
    mask: boolean (or 0/1) array broadcastable to ``u``; nonzero = spike mode.
    surrogate: name of a registered forwarding function or a
      :class:`~asgl_jax.surrogate.Surrogate`.

  Returns:
    An array with ``u``'s shape and dtype.

  Example:
    >>> import jax, jax.numpy as jnp, asgl_jax
    >>> u = jnp.array([-0.25, 0.25])
    >>> m = jnp.array([False, True])                 # analog, then spike mode
    >>> asgl_jax.spike_with_mask(u, 1.0, m)           # H = clip(u/α + 1/2, 0, 1), Θ(0.25) = 1
    Array([0.25, 1.  ], dtype=float32)
    >>> jax.grad(lambda u: asgl_jax.spike_with_mask(u, 1.0, m).sum())(u)  # 1/α at both
    Array([1., 1.], dtype=float32)
  """
  u = jnp.asarray(u)
  mask = jnp.asarray(mask)
  _checks.check_floating("spike_with_mask", u)
  alpha = _checks.check_alpha("spike_with_mask", alpha, u.shape)
  try:
    ok = jnp.broadcast_shapes(mask.shape, u.shape) == u.shape
  except ValueError:
    ok = False
  if not ok:
    raise ValueError(
      f"spike_with_mask: mask of shape {mask.shape} does not broadcast to u's shape {u.shape}"
    )
  sur = surrogate_lib.get_surrogate(surrogate)
  mask = jax.lax.stop_gradient(mask) != 0
  return _asgl(u, alpha, mask, sur, "mask")


def spike(
  u,
  alpha,
  *,
  key=None,
  p=1.0,
  surrogate: str | surrogate_lib.Surrogate = "rect",
  train: bool = True,
) -> Array:
  """The ASGL spike function (paper Eq. 10 and Algorithm 1).

  Training (``train=True``)::

      s = H_α(u) + m ⊙ stop_gradient(Θ(u) − H_α(u)),   m ~ Bernoulli(p)

  so ``s`` equals the binary spike ``Θ(u)`` where ``m = 1`` and the analog
  ``H_α(u)`` where ``m = 0``; the gradient with respect to ``u`` and ``alpha``
  is that of ``H_α`` at every element. Evaluation (``train=False``):
  ``s = Θ(u) = 1[u >= 0]`` exactly.

  ``p = 1`` gives surrogate-gradient learning (forward ``Θ``, backward
  ``H_α'``); ``p = 0`` gives the analog network (forward ``H_α``).

  Args:
    u: membrane potential minus threshold (``u − ϑ``), floating point.
    alpha: width ``α > 0``, any shape broadcastable to ``u`` (scalar per layer,
      per channel, ...). Its gradient has ``alpha``'s shape.
    key: PRNG key for the mask (typed ``jax.random.key`` or legacy
      ``jax.random.PRNGKey``), or a batch of keys whose shape is a prefix of
      ``u.shape`` (see :func:`sample_mask`). Required when training with
      ``0 < p < 1`` or a traced ``p``.
    p: probability of the **spike** mode (paper: noise probability). NB: the
      released PyTorch code's ``--p`` is the analog probability ``1 − p``.
      A Python float or a traced scalar (a schedule can change it without
      recompiling).
    surrogate: forwarding function ``H_α``: a registered name (see
      :func:`asgl_jax.available_surrogates`) or a ``Surrogate``.
    train: ``False`` returns the exact Heaviside step.

  Returns:
    An array with ``u``'s shape and dtype.

  Example:
    >>> import jax, jax.numpy as jnp, asgl_jax
    >>> u = jnp.array([-1.0, -0.1, 0.1, 1.0])
    >>> asgl_jax.spike(u, 1.0, p=0.0)  # analog: clip(u/α + 1/2, 0, 1)
    Array([0. , 0.4, 0.6, 1. ], dtype=float32)
    >>> asgl_jax.spike(u, 1.0, train=False)
    Array([0., 0., 1., 1.], dtype=float32)
  """
  u = jnp.asarray(u)
  _checks.check_floating("spike", u)
  sur = surrogate_lib.get_surrogate(surrogate)
  alpha = _checks.check_alpha("spike", alpha, u.shape)  # in evaluation too: a bad width is a bug
  if not train:
    return heaviside(u)
  _checks.check_p("spike", p)
  if _checks.is_concrete(p) and float(p) == 1.0:
    return _asgl(u, alpha, None, sur, "spike")
  if _checks.is_concrete(p) and float(p) == 0.0:
    return _asgl(u, alpha, None, sur, "analog")
  if key is None:
    raise ValueError(
      "spike: a PRNG key is required in training mode when 0 < p < 1 or p is traced "
      f"(got p={p!r}); pass key=jax.random.key(...) or use train=False"
    )
  mask = sample_mask(key, p, u.shape)
  return _asgl(u, alpha, mask, sur, "mask")


@contextlib.contextmanager
def runtime_checks(enabled: bool = True):
  """Within this context, functions *traced* here also check their traced arguments with
  ``jax.experimental.checkify``: the width ``α`` finite and at least the smallest normal
  number, ``p`` in ``[0, 1]`` (Eq. 10), neuron decays in ``[0, 1]`` and thresholds finite
  (Eq. 1–3). Concrete values are always checked at trace time; traced ones (``α`` or ``p``
  passed into a ``jit``-ed function) only this way. Wrap the function with
  ``checkify.checkify`` and call ``err.throw()``. ``jit`` caches traces whatever this
  setting: a function traced inside the context keeps its checks (call it only through
  ``checkify.checkify`` from then on), and one traced before it keeps its checks-free
  version.

  Example:
    >>> import jax, jax.numpy as jnp
    >>> from jax.experimental import checkify
    >>> import asgl_jax
    >>> u = jnp.array([-0.2, 0.3])
    >>> f = lambda a: asgl_jax.spike(u, a, train=False)
    >>> with asgl_jax.runtime_checks():
    ...   err, s = checkify.checkify(jax.jit(f))(jnp.float32(-1.0))
    >>> print(err.get().split(" (`check`")[0])
    spike: alpha (the width) must be finite and >= 1.18e-38
    >>> with asgl_jax.runtime_checks():
    ...   err, s = checkify.checkify(jax.jit(f))(jnp.float32(0.5))
    >>> err.get() is None, s.tolist()
    (True, [0.0, 1.0])
  """
  previous = _checks.set_runtime_checks(enabled)
  try:
    yield
  finally:
    _checks.set_runtime_checks(previous)

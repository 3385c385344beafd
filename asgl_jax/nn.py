"""Flax NNX layers for ASGL spiking networks.

Layers hold parameters and call the pure functions of :mod:`asgl_jax.neurons`;
they never keep membrane state between calls. Tensors are time-major: a layer
takes ``[T, B, ...]``, or ``[T·B, ...]`` (time folded into the batch, as the
stateless conv/BN/dense layers around it see it) when built with
``time_steps=T``.

Spiking parameters (log-widths and decay logits) are :class:`SpikingParam`
variables, a subclass of ``nnx.Param``: ``nnx.state(model, SpikingParam)``
selects them, so they can get their own optimizer (DESIGN §1: Adam, lr 3e-4,
no weight decay), while ``nnx.Param`` still selects every trainable array.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import nnx

from asgl_jax import neurons, sparse
from asgl_jax import surrogate as surrogate_lib

Array = jax.Array


class SpikingParam(nnx.Param):
  """A trainable parameter of spiking neurons (width, decay), not a synaptic weight."""


class LogWidth(SpikingParam):
  """``log α``: the surrogate width, stored in log space so ``α > 0``."""


class Sharpness(SpikingParam):
  """``a = 1/α``: the surrogate's sharpness, the parameter the released code learns."""


# How a layer stores its learned width (``width_param``): "log" learns log α (our default: a
# fixed Adam step changes α by the same factor at any width); "sharpness" learns a = 1/α as
# the released code does (a fixed step changes α by α²·step: fast at wide widths).
WIDTH_PARAMS = ("log", "sharpness")
MIN_SHARPNESS = 1e-4  # a is clipped here (α ≤ 10⁴) if the optimizer drives it towards 0


class DecayLogit(SpikingParam):
  """``logit γ``: the leak factor, ``γ = sigmoid(logit)`` stays in ``(0, 1)``."""


def fold_time(x: Array) -> Array:
  """``[T, B, ...] -> [T·B, ...]`` (time folded into the batch).

  Example:
    >>> import jax.numpy as jnp
    >>> from asgl_jax import nn
    >>> nn.fold_time(jnp.zeros((2, 3, 4))).shape         # [T, B, F] -> [T·B, F]
    (6, 4)
  """
  if x.ndim < 2:
    raise ValueError(f"fold_time: need [T, B, ...], got shape {x.shape}")
  return x.reshape((x.shape[0] * x.shape[1], *x.shape[2:]))


def unfold_time(x: Array, time_steps: int) -> Array:
  """``[T·B, ...] -> [T, B, ...]``.

  Example:
    >>> import jax.numpy as jnp
    >>> from asgl_jax import nn
    >>> nn.unfold_time(jnp.zeros((6, 4)), 2).shape        # [T·B, F] -> [T, B, F]
    (2, 3, 4)
  """
  if x.ndim < 1 or x.shape[0] % time_steps:
    raise ValueError(
      f"unfold_time: leading axis of shape {x.shape} is not divisible by time_steps={time_steps}"
    )
  return x.reshape((time_steps, x.shape[0] // time_steps, *x.shape[1:]))


def apply_folded(layer, x: Array) -> Array:
  """Applies a per-feature ``layer`` (e.g. ``nnx.Linear``) to ``[..., F]`` as one 2-D call on
  ``[prod(...), F]``: the synaptic current ``W s + b`` of paper Eq. 1 for a dense layer.

  Same values as ``layer(x)``; the weight gradient then contracts one axis instead of the
  two-axis (time, batch) contraction autodiff makes of a 3-D input, which XLA's CPU backend
  runs much slower (docs/performance.md).

  Spikes given as bool or integer counts (the dataset layout of spike trains) reach an
  ``nnx.Linear`` through :func:`asgl_jax.sparse.spike_matmul`: event-driven on CPU, the
  dense matmul on GPU/TPU. Other layers get them cast to float32.

  Example:
    >>> import jax, jax.numpy as jnp, asgl_jax
    >>> from flax import nnx
    >>> from asgl_jax import nn
    >>> dense = nnx.Linear(3, 2, rngs=nnx.Rngs(0))
    >>> x = jnp.ones((4, 5, 3))                            # [T, B, F]
    >>> bool(jnp.allclose(nn.apply_folded(dense, x), dense(x), atol=1e-6))
    True
  """
  if not jnp.issubdtype(x.dtype, jnp.floating):
    if _takes_spikes(layer):
      return spike_linear(layer, x)
    x = x.astype(jnp.float32)
  if x.ndim <= 2:
    return layer(x)
  y = layer(x.reshape((-1, x.shape[-1])))
  return y.reshape((*x.shape[:-1], y.shape[-1]))


def spike_linear(layer, s: Array) -> Array:
  """``layer`` (a plain float ``nnx.Linear``) on bool / integer spikes ``s``: ``W s + b``
  (paper Eq. 1), event-driven where that pays (:func:`asgl_jax.sparse.spike_matmul`); what
  :func:`apply_folded` runs for spike inputs, and what
  :func:`asgl_jax.analysis.synaptic_operations` counts.

  Example:
    >>> import jax.numpy as jnp
    >>> from flax import nnx
    >>> from asgl_jax import nn
    >>> dense = nnx.Linear(3, 2, rngs=nnx.Rngs(0))
    >>> s = jnp.array([[True, False, True]])
    >>> bool(jnp.allclose(nn.spike_linear(dense, s), dense(s.astype(jnp.float32)), atol=1e-6))
    True
  """
  y = sparse.spike_matmul(s, layer.kernel[...])
  return y if layer.bias is None else y + layer.bias[...]


def _takes_spikes(layer) -> bool:
  """Whether ``layer`` is a plain float ``nnx.Linear`` that :func:`spike_matmul` reproduces."""
  return (
    type(layer) is nnx.Linear
    and layer.dtype is None
    and layer.precision is None
    and layer.preferred_element_type is None
    and layer.dot_general is jax.lax.dot_general
  )


def _logit(gamma: float) -> float:
  if not 0.0 < gamma < 1.0:
    raise ValueError(f"a learnable decay must start in (0, 1), got {gamma!r}")
  return math.log(gamma / (1.0 - gamma))


class _SpikingBase(nnx.Module):
  """Width, decay and time-layout handling shared by the spiking layers."""

  def __init__(
    self,
    *,
    alpha: float,
    num_channels: int | None,
    learn_alpha: bool,
    decay: float,
    learn_decay: bool,
    threshold: float,
    surrogate: str,
    detach_reset: bool,
    time_steps: int | None,
    unroll: int,
    remat: bool,
    width_param: str = "log",
  ):
    name = type(self).__name__
    if width_param not in WIDTH_PARAMS:
      raise ValueError(f"{name}: width_param must be one of {WIDTH_PARAMS}, got {width_param!r}")
    if not alpha > 0:
      raise ValueError(f"{name}: alpha (initial width) must be > 0, got {alpha!r}")
    if num_channels is not None and num_channels < 1:
      raise ValueError(f"{name}: num_channels must be a positive int or None, got {num_channels!r}")
    if time_steps is not None and time_steps < 1:
      raise ValueError(f"{name}: time_steps must be a positive int or None, got {time_steps!r}")
    if not 0.0 <= decay <= 1.0:
      raise ValueError(f"{name}: decay must be in [0, 1], got {decay!r}")
    surrogate_lib.get_surrogate(surrogate)  # fail early on unknown names
    shape = () if num_channels is None else (num_channels,)
    self.width_param = width_param
    if width_param == "log":
      self.log_alpha = LogWidth(jnp.full(shape, math.log(alpha), jnp.float32))
    else:
      self.sharpness = Sharpness(jnp.full(shape, 1.0 / alpha, jnp.float32))
    self.learn_alpha = learn_alpha
    self.decay_logit = (
      DecayLogit(jnp.full(shape, _logit(decay), jnp.float32)) if learn_decay else None
    )
    self.decay_value = decay
    self.threshold = threshold
    self.surrogate = surrogate
    self.detach_reset = detach_reset
    self.time_steps = time_steps
    self.unroll = unroll
    self.remat = remat
    self.fused = True  # the scans' hand-written backward pass (see asgl_jax.lif_scan)
    self.record: str | None = None  # None, "rates" or "full" (see _record)

  @property
  def alpha(self) -> Array:
    """The width: ``α = exp(log α)``, or ``α = 1/a`` with ``width_param="sharpness"``
    (gradient stopped when ``learn_alpha=False``)."""
    if self.width_param == "log":
      a = jnp.exp(self.log_alpha[...])
    else:
      a = 1.0 / jnp.maximum(self.sharpness[...], MIN_SHARPNESS)
    return a if self.learn_alpha else jax.lax.stop_gradient(a)

  @property
  def decay(self) -> Array | float:
    """The leak factor ``γ``."""
    if self.decay_logit is None:
      return self.decay_value
    return jax.nn.sigmoid(self.decay_logit[...])

  def _record(self, spikes: Array, potential: Array | None) -> None:
    # Set with model.set_attributes(record=...), collected with nnx.capture(model, nnx.Intermediate):
    # "rates": the mean output (the firing rate at evaluation); "full": spikes and
    # u − ϑ, [T, B, ...], and the width (for asgl_jax.analysis).
    if self.record in ("rates", "full"):
      self.sow(nnx.Intermediate, "firing_rate", jnp.mean(spikes.astype(jnp.float32)))
    if self.record == "full":
      self.sow(nnx.Intermediate, "spikes", spikes)
      self.sow(nnx.Intermediate, "potential", potential)
      self.sow(nnx.Intermediate, "alpha", self.alpha)

  def _to_time_major(self, x: Array) -> Array:
    return x if self.time_steps is None else unfold_time(x, self.time_steps)

  def _from_time_major(self, s: Array) -> Array:
    return s if self.time_steps is None else fold_time(s)


class LIF(_SpikingBase):
  """LIF layer with a learnable surrogate width (paper Eq. 1–3, 10).

  Computes :func:`asgl_jax.lif` on its input currents. The width is one scalar
  per layer by default, or one per channel (last axis) with
  ``num_channels``. The layer holds no membrane state between calls.

  Args:
    alpha: initial width ``α``.
    num_channels: ``None`` for one width per layer, else the size of the last
      axis (one width, and decay, per channel).
    learn_alpha: train the width (ASGL) or keep it fixed (SG).
    decay: leak factor ``γ = 1 − 1/τ`` (initial value if learned).
    learn_decay: learn ``γ`` as ``sigmoid(logit)``.
    threshold: firing threshold ``ϑ``.
    surrogate: forwarding function name.
    detach_reset: stop the gradient through the reset.
    time_steps: if set, inputs are ``[T·B, ...]`` and outputs likewise;
      otherwise both are ``[T, B, ...]``.
    unroll, remat: passed to :func:`asgl_jax.lif_scan`.
    width_param: how the width is learned: ``"log"`` (``log α``, the default) or
      ``"sharpness"`` (``a = 1/α``, as the released code learns its sigmoid's sharpness; ``a``
      is clipped at ``1e-4``).

  Example:
    >>> import jax, jax.numpy as jnp, asgl_jax
    >>> layer = asgl_jax.nn.LIF(alpha=1.0, time_steps=2)
    >>> x = jnp.ones((2 * 3, 5))                       # [T·B, N]
    >>> layer(x, key=jax.random.key(0), p=0.8).shape
    (6, 5)
  """

  def __init__(
    self,
    *,
    alpha: float = 1.0,
    num_channels: int | None = None,
    learn_alpha: bool = True,
    decay: float = 0.5,
    learn_decay: bool = False,
    threshold: float = 1.0,
    surrogate: str = "rect",
    detach_reset: bool = False,
    time_steps: int | None = None,
    unroll: int = 1,
    remat: bool = False,
    width_param: str = "log",
  ):
    super().__init__(
      alpha=alpha,
      num_channels=num_channels,
      learn_alpha=learn_alpha,
      decay=decay,
      learn_decay=learn_decay,
      threshold=threshold,
      surrogate=surrogate,
      detach_reset=detach_reset,
      time_steps=time_steps,
      unroll=unroll,
      remat=remat,
      width_param=width_param,
    )

  def __call__(self, x: Array, *, key=None, p=1.0, train: bool = True) -> Array:
    """Spikes for input currents ``x`` (``[T, B, ...]`` or ``[T·B, ...]``)."""
    spikes, _, u = neurons.lif_scan(
      self._to_time_major(x),
      self.alpha,
      key=key,
      p=p,
      decay=self.decay,
      threshold=self.threshold,
      surrogate=self.surrogate,
      train=train,
      detach_reset=self.detach_reset,
      unroll=self.unroll,
      remat=self.remat,
      fused=self.fused,
      return_potential=True,  # dropped by XLA unless recorded
    )
    self._record(spikes, u)
    return self._from_time_major(spikes)


class CLIF(_SpikingBase):
  """C-LIF layer (current-based LIF, paper App. A.3) with a learnable surrogate width.

  Runs :func:`asgl_jax.clif_scan`: membrane and synaptic kernels with decays
  ``beta_m = exp(−Δt/τ_m)`` and ``beta_s = exp(−Δt/τ_s)``, kernel peak normalised
  by ``u0`` (default :func:`asgl_jax.clif_norm`), reset through a refractory trace.
  Layout and width options as :class:`LIF` (the decays are fixed).

  Example:
    >>> import jax, jax.numpy as jnp, asgl_jax
    >>> layer = asgl_jax.nn.CLIF(alpha=1.0, time_steps=4)
    >>> layer(jnp.ones((4 * 2, 3)), key=jax.random.key(0), p=0.8).shape   # [T·B, N]
    (8, 3)
  """

  def __init__(
    self,
    *,
    beta_m: float = 0.9,
    beta_s: float = 0.5,
    u0: float | None = None,
    alpha: float = 1.0,
    num_channels: int | None = None,
    learn_alpha: bool = True,
    threshold: float = 1.0,
    surrogate: str = "rect",
    detach_reset: bool = False,
    time_steps: int | None = None,
    unroll: int = 1,
    remat: bool = False,
    width_param: str = "log",
  ):
    super().__init__(
      alpha=alpha,
      num_channels=num_channels,
      learn_alpha=learn_alpha,
      decay=0.5,  # unused: C-LIF has its own decays
      learn_decay=False,
      threshold=threshold,
      surrogate=surrogate,
      detach_reset=detach_reset,
      time_steps=time_steps,
      unroll=unroll,
      remat=remat,
      width_param=width_param,
    )
    self.beta_m, self.beta_s = beta_m, beta_s
    self.u0 = neurons.clif_norm(beta_m, beta_s) if u0 is None else u0

  def __call__(self, x: Array, *, key=None, p=1.0, train: bool = True) -> Array:
    """Spikes for input currents ``x`` (``[T, B, ...]`` or ``[T·B, ...]``)."""
    spikes, _, u = neurons.clif_scan(
      self._to_time_major(x),
      self.alpha,
      key=key,
      p=p,
      beta_m=self.beta_m,
      beta_s=self.beta_s,
      u0=self.u0,
      threshold=self.threshold,
      surrogate=self.surrogate,
      train=train,
      detach_reset=self.detach_reset,
      unroll=self.unroll,
      remat=self.remat,
      return_potential=True,
    )
    self._record(spikes, u)
    return self._from_time_major(spikes)


class RecurrentLIF(_SpikingBase):
  """Dense layer of LIF neurons with synaptic recurrence (paper App. A.4).

  ``c[t] = W s^{l−1}[t] + b + V s^l[t−1]`` (plus ``β_syn·c[t−1]`` if
  ``synapse_decay > 0``), then LIF dynamics and the ASGL spike. ``W x + b``
  runs once on all time steps; the recurrent matmul runs inside the scan.

  Args:
    in_features: input size.
    features: number of neurons ``N``.
    rngs: ``nnx.Rngs`` for the weights.
    synapse_decay: ``β_syn``.
    input_scale: std of ``W`` is ``input_scale / sqrt(in_features)`` at initialisation
      (sparse spike inputs often need > 1 to reach the threshold).
    recurrent_scale: ``V`` starts as a random orthogonal matrix times this.
    Others: as :class:`LIF` (per-channel widths use ``num_channels=features``).

  Example:
    >>> import jax, jax.numpy as jnp, asgl_jax
    >>> from flax import nnx
    >>> layer = asgl_jax.nn.RecurrentLIF(5, 4, rngs=nnx.Rngs(0))
    >>> spikes = layer(jnp.ones((6, 2, 5)), train=False)                 # [T, B, in] -> [T, B, N]
    >>> spikes.shape, bool(jnp.all((spikes == 0) | (spikes == 1)))
    ((6, 2, 4), True)
  """

  def __init__(
    self,
    in_features: int,
    features: int,
    *,
    rngs: nnx.Rngs,
    alpha: float = 1.0,
    per_neuron_width: bool = False,
    learn_alpha: bool = True,
    decay: float = 0.5,
    learn_decay: bool = False,
    threshold: float = 1.0,
    synapse_decay: float = 0.0,
    surrogate: str = "rect",
    detach_reset: bool = False,
    time_steps: int | None = None,
    unroll: int = 1,
    remat: bool = False,
    input_scale: float = 1.0,
    recurrent_scale: float = 1.0 / math.sqrt(2.0),
    width_param: str = "log",
  ):
    super().__init__(
      alpha=alpha,
      num_channels=features if per_neuron_width else None,
      learn_alpha=learn_alpha,
      decay=decay,
      learn_decay=learn_decay,
      threshold=threshold,
      surrogate=surrogate,
      detach_reset=detach_reset,
      time_steps=time_steps,
      unroll=unroll,
      remat=remat,
      width_param=width_param,
    )
    self.dense = nnx.Linear(
      in_features,
      features,
      kernel_init=nnx.initializers.variance_scaling(input_scale**2, "fan_in", "normal"),
      rngs=rngs,
    )
    init = nnx.initializers.orthogonal(scale=recurrent_scale)
    self.recurrent_kernel = nnx.Param(init(rngs.params(), (features, features), jnp.float32))
    self.synapse_decay = synapse_decay

  def __call__(
    self, x: Array, *, key=None, p=1.0, train: bool = True, batch_major: bool = False
  ) -> Array:
    """Spikes ``[T, B, N]`` (or ``[T·B, N]``) for inputs ``[T, B, in]`` (or ``[T·B, in]``).

    ``batch_major=True`` takes ``[B, T, in]`` (the dataset layout) and still returns
    ``[T, B, N]``: the input projection runs first, so only the ``N``-wide currents are
    transposed, not the (usually wider) input.
    """
    currents = apply_folded(self.dense, x)
    if batch_major:
      if currents.ndim != 3:
        raise ValueError(f"RecurrentLIF: batch_major needs [B, T, in] inputs, got {x.shape}")
      currents = jnp.swapaxes(currents, 0, 1)
    else:
      currents = self._to_time_major(currents)
    spikes, _, u = neurons.recurrent_lif_scan(
      currents,
      self.recurrent_kernel[...].astype(currents.dtype),
      self.alpha,
      key=key,
      p=p,
      decay=self.decay,
      threshold=self.threshold,
      synapse_decay=self.synapse_decay,
      surrogate=self.surrogate,
      train=train,
      detach_reset=self.detach_reset,
      unroll=self.unroll,
      remat=self.remat,
      fused=self.fused,
      return_potential=True,
    )
    self._record(spikes, u)
    return self._from_time_major(spikes)


class TimeBatchNorm(nnx.Module):
  """Batch norm over time folded into the batch (``[T·B, ..., C]``).

  ``kind="bn"`` is plain BN over ``T·B`` (what the released code calls
  "tdbn"). ``kind="tdbn"`` is threshold-dependent BN (Zheng et al., 2021):
  the normalised input is scaled by ``alpha_td · ϑ`` before the learnable
  affine map, ``y = λ·(alpha_td·ϑ·x̂) + β``.

  Example:
    >>> import jax, jax.numpy as jnp, asgl_jax
    >>> from flax import nnx
    >>> bn = asgl_jax.nn.TimeBatchNorm(3, rngs=nnx.Rngs(0))
    >>> y = bn(jax.random.normal(jax.random.key(0), (8, 3)) * 5 + 2)     # [T·B, C]
    >>> bool(jnp.allclose(y.mean(0), 0.0, atol=1e-5)), bool(jnp.allclose(y.std(0), 1.0, atol=1e-3))
    (True, True)
  """

  def __init__(
    self,
    num_features: int,
    *,
    rngs: nnx.Rngs,
    kind: str = "bn",
    threshold: float = 1.0,
    alpha_td: float = 1.0,
    momentum: float = 0.9,
    epsilon: float = 1e-5,
  ):
    if kind not in ("bn", "tdbn"):
      raise ValueError(f"TimeBatchNorm: kind must be 'bn' or 'tdbn', got {kind!r}")
    self.bn = nnx.BatchNorm(
      num_features,
      momentum=momentum,
      epsilon=epsilon,
      use_scale=kind == "bn",
      use_bias=kind == "bn",
      rngs=rngs,
    )
    self.kind = kind
    if kind == "tdbn":
      self.scale = nnx.Param(jnp.ones((num_features,)))
      self.bias = nnx.Param(jnp.zeros((num_features,)))
      self.td_factor = alpha_td * threshold

  def __call__(self, x: Array, *, train: bool = True) -> Array:
    # In training, the BN module's own flag decides (model.set_attributes(
    # use_running_average=True) freezes the statistics, e.g. to evaluate the noisy network).
    y = self.bn(x, use_running_average=None if train else True)
    if self.kind == "tdbn":
      y = self.scale[...] * (self.td_factor * y) + self.bias[...]
    return y

"""Convolutions on oneDNN for the CPU backend.

A conv layer computes the synaptic current of the LIF charge equation (paper Eq. 1) with
``W`` a convolution: ``c[t] = W ⊛ s^{l−1}[t]``. On GPU and TPU XLA's convolutions are the
vendor libraries' (cuDNN, the TPU's MXU), but XLA:CPU's are Eigen's, 20–35 % slower on a
3×3 layer than oneDNN's, which PyTorch uses (benchmarks/conv_layers.py). jaxlib contains
oneDNN but XLA does not route convolutions to it in the released wheels, so
:func:`conv_general_dilated` calls the ``onednn-cpu-gomp`` package's ``libdnnl`` directly:
a drop-in for ``lax.conv_general_dilated`` (and flax's ``Conv(conv_general_dilated=...)``)
whose CPU lowering runs oneDNN's forward, backward-data and backward-weights primitives on
XLA's own buffers through ``jax.experimental.buffer_callback`` (no copies). The choice is
made per platform at lowering time (``lax.platform_dependent``), so the same jitted
function lowers to XLA's convolution, and its autodiff, on GPU/TPU.

oneDNN's path is taken for float32 2-D convolutions in NHWC/HWIO layout (flax's) with one
feature group, no input dilation and non-negative padding, when the library loads (x86-64
Linux with the ``onednn-cpu-gomp`` wheel, a declared dependency there) and
``ASGL_JAX_ONEDNN`` is not ``0``. Everything else is ``lax.conv_general_dilated``. Values
equal XLA's up to float summation order (relative differences ~1e-6).

Limits: the callback runs on the host, so code containing it cannot be serialised with
``jax.export`` for the CPU platform (set ``ASGL_JAX_ONEDNN=0`` for that). A host callback is
not partitioned by XLA's SPMD partitioner: under a multi-device CPU mesh every device would
run it on the gathered batch, so in a process with more than one CPU device
(``--xla_force_host_platform_device_count``) every call is XLA's convolution. Calls are
serialised by a lock: oneDNN runs each one on all cores (OpenMP).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import glob
import importlib.metadata
import os
import sys
import threading
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from asgl_jax.sparse import _on_host, _several_cpu_devices, buffer_callback

Array = jax.Array

ENV_SWITCH = "ASGL_JAX_ONEDNN"
_PACKAGE = "onednn-cpu-gomp"
_NHWC = lax.ConvDimensionNumbers(
  lhs_spec=(0, 3, 1, 2), rhs_spec=(3, 2, 0, 1), out_spec=(0, 3, 1, 2)
)

# oneDNN v3 C API constants (dnnl_types.h).
_CPU_ENGINE = 1
_IN_ORDER_STREAM = 1
_F32 = 3
_FORMAT_ANY = 1
_FORWARD_TRAINING = 64
_CONV_DIRECT = 1
_QUERY = {"src": 129, "diff_src": 130, "weights": 131, "diff_weights": 132}
_ARG = {"src": 1, "dst": 17, "weights": 33, "diff_src": 129, "diff_dst": 145, "diff_weights": 161}
_MAX_NDIMS = 12
_Dims = ctypes.c_int64 * _MAX_NDIMS


class _ExecArg(ctypes.Structure):
  _fields_ = [("arg", ctypes.c_int), ("memory", ctypes.c_void_p)]


class Geometry(NamedTuple):
  """A 2-D NHWC/HWIO convolution's shapes: what a oneDNN primitive is built for."""

  batch: int
  in_hw: tuple[int, int]
  in_channels: int
  out_channels: int
  kernel_hw: tuple[int, int]
  strides: tuple[int, int]
  padding: tuple[tuple[int, int], tuple[int, int]]
  dilation: tuple[int, int]

  @property
  def dilated_kernel_hw(self) -> tuple[int, ...]:
    return tuple((k - 1) * d + 1 for k, d in zip(self.kernel_hw, self.dilation, strict=True))

  @property
  def out_hw(self) -> tuple[int, ...]:
    """``⌊(n + pad_lo + pad_hi − dilated k) / s⌋ + 1`` per spatial axis."""
    return tuple(
      (n + lo + hi - k) // s + 1
      for n, (lo, hi), k, s in zip(
        self.in_hw, self.padding, self.dilated_kernel_hw, self.strides, strict=True
      )
    )


def _library_candidates() -> list[str]:
  paths = []
  try:
    files = importlib.metadata.files(_PACKAGE) or []
    paths += [str(f.locate()) for f in files if os.path.basename(str(f)).startswith("libdnnl.so")]
  except importlib.metadata.PackageNotFoundError:
    pass
  paths += sorted(glob.glob(os.path.join(sys.prefix, "lib", "libdnnl.so*")))
  found = ctypes.util.find_library("dnnl")
  if found:
    paths.append(found)
  return paths


class _Dnnl:
  """The loaded ``libdnnl`` (oneDNN v3 C API), one CPU engine and stream, and a lock."""

  def __init__(self, lib: ctypes.CDLL):
    self.lib = lib
    lib.dnnl_primitive_desc_query_md.restype = ctypes.c_void_p
    lib.dnnl_primitive_desc_query_md.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
    lib.dnnl_memory_desc_get_size.restype = ctypes.c_size_t
    lib.dnnl_memory_desc_get_size.argtypes = [ctypes.c_void_p]
    lib.dnnl_memory_desc_equal.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    self.engine = self._new(lib.dnnl_engine_create, _CPU_ENGINE, ctypes.c_size_t(0))
    self.stream = self._new(lib.dnnl_stream_create, self.engine, ctypes.c_uint(_IN_ORDER_STREAM))
    self.lock = threading.Lock()

  def check(self, status: int, what: str) -> None:
    if status != 0:
      raise RuntimeError(f"oneDNN {what} failed with status {status}")

  def _new(self, create, *args) -> ctypes.c_void_p:
    handle = ctypes.c_void_p()
    self.check(create(ctypes.byref(handle), *args), create.__name__)
    return handle

  def memory_desc(self, dims, strides=None) -> ctypes.c_void_p:
    """``dims`` in oneDNN's logical order; ``strides=None`` lets the primitive choose."""
    d = _Dims(*dims)
    if strides is None:
      return self._new(self.lib.dnnl_memory_desc_create_with_tag, len(dims), d, _F32, _FORMAT_ANY)
    return self._new(
      self.lib.dnnl_memory_desc_create_with_strides, len(dims), d, _F32, _Dims(*strides)
    )

  def query(self, pd, what: str) -> ctypes.c_void_p:
    return ctypes.c_void_p(self.lib.dnnl_primitive_desc_query_md(pd, _QUERY[what], 0))

  def primitive(self, pd) -> ctypes.c_void_p:
    return self._new(self.lib.dnnl_primitive_create, pd)

  def reorder(self, src_md, dst_md) -> ctypes.c_void_p | None:
    """A reorder primitive between two layouts, or None when they are the same."""
    if self.lib.dnnl_memory_desc_equal(src_md, dst_md):
      return None
    pd = self._new(
      self.lib.dnnl_reorder_primitive_desc_create, src_md, self.engine, dst_md, self.engine, None
    )
    return self.primitive(pd)

  def execute(self, primitive, args: dict[str, tuple[ctypes.c_void_p, int]]) -> None:
    """Runs ``primitive`` on raw buffers: ``args`` maps an argument to ``(memory desc, ptr)``."""
    mems = {k: self._new(self.lib.dnnl_memory_create, md, self.engine, ctypes.c_void_p(ptr))
            for k, (md, ptr) in args.items()}  # fmt: skip
    try:
      exec_args = (_ExecArg * len(mems))(*(_ExecArg(_ARG[k], m) for k, m in mems.items()))
      self.check(
        self.lib.dnnl_primitive_execute(primitive, self.stream, len(mems), exec_args), "execute"
      )
      self.check(self.lib.dnnl_stream_wait(self.stream), "stream wait")
    finally:
      for m in mems.values():
        self.lib.dnnl_memory_destroy(m)


@functools.cache
def _dnnl() -> _Dnnl | None:
  if os.environ.get(ENV_SWITCH, "1") == "0" or buffer_callback is None:
    return None
  if _several_cpu_devices():  # see the module docstring
    return None
  for path in _library_candidates():
    try:
      lib = ctypes.CDLL(path)
      lib.dnnl_version.restype = ctypes.POINTER(ctypes.c_int)
      if lib.dnnl_version()[0] != 3:  # dnnl_version_t starts with the major version
        continue
      return _Dnnl(lib)
    except (OSError, AttributeError, RuntimeError):
      continue
  return None


def onednn_available() -> bool:
  """Whether :func:`conv_general_dilated` can use oneDNN on the CPU backend in this process."""
  return _dnnl() is not None


class _Plan:
  """oneDNN's three primitives for one :class:`Geometry`, with their weight reorders."""

  def __init__(self, d: _Dnnl, g: Geometry):
    self.d = d
    n, (h, w), ci = g.batch, g.in_hw, g.in_channels
    (oh, ow), co, (kh, kw) = g.out_hw, g.out_channels, g.kernel_hw
    # Logical dims are (N, C, H, W) and (O, I, KH, KW); strides say the memory is NHWC/HWIO.
    self.src = d.memory_desc((n, ci, h, w), (h * w * ci, 1, w * ci, ci))
    self.dst = d.memory_desc((n, co, oh, ow), (oh * ow * co, 1, ow * co, co))
    self.weights = d.memory_desc((co, ci, kh, kw), (1, co, kw * ci * co, ci * co))
    any_weights = d.memory_desc((co, ci, kh, kw))
    conv = (
      _Dims(*g.strides),
      _Dims(*(x - 1 for x in g.dilation)),  # oneDNN counts dilation from 0
      _Dims(*(p[0] for p in g.padding)),
      _Dims(*(p[1] for p in g.padding)),
    )
    lib = d.lib
    fwd = d._new(
      lib.dnnl_convolution_forward_primitive_desc_create, d.engine, _FORWARD_TRAINING,
      _CONV_DIRECT, self.src, any_weights, None, self.dst, *conv, None,
    )  # fmt: skip
    bwd_data = d._new(
      lib.dnnl_convolution_backward_data_primitive_desc_create, d.engine, _CONV_DIRECT,
      self.src, any_weights, self.dst, *conv, fwd, None,
    )  # fmt: skip
    bwd_weights = d._new(
      lib.dnnl_convolution_backward_weights_primitive_desc_create, d.engine, _CONV_DIRECT,
      self.src, any_weights, None, self.dst, *conv, fwd, None,
    )  # fmt: skip
    for pd, what, md in [(fwd, "src", self.src), (bwd_data, "diff_src", self.src)]:
      if not lib.dnnl_memory_desc_equal(d.query(pd, what), md):
        raise RuntimeError("oneDNN chose another activation layout than NHWC")
    self.fwd, self.bwd_data, self.bwd_weights = map(d.primitive, (fwd, bwd_data, bwd_weights))
    # Weights in the layouts the primitives chose, a scratch buffer for each, and reorders.
    self.fwd_w = d.query(fwd, "weights")
    self.bwd_data_w = d.query(bwd_data, "weights")
    self.bwd_diff_w = d.query(bwd_weights, "diff_weights")
    self.to_fwd_w = d.reorder(self.weights, self.fwd_w)
    self.to_bwd_data_w = d.reorder(self.weights, self.bwd_data_w)
    self.from_bwd_diff_w = d.reorder(self.bwd_diff_w, self.weights)
    nbytes = lib.dnnl_memory_desc_get_size
    self.scratch = {
      k: np.empty(nbytes(md) // 4, np.float32)
      for k, md in [("fwd", self.fwd_w), ("bwd_data", self.bwd_data_w), ("diff", self.bwd_diff_w)]
    }

  def _weights_as(self, reorder, md, scratch: str, w_ptr: int) -> tuple:
    if reorder is None:
      return md, w_ptr
    ptr = self.scratch[scratch].ctypes.data
    self.d.execute(reorder, {"src": (self.weights, w_ptr), "dst": (md, ptr)})
    return md, ptr

  def forward(self, out: np.ndarray, x: np.ndarray, w: np.ndarray) -> None:
    with self.d.lock:
      wts = self._weights_as(self.to_fwd_w, self.fwd_w, "fwd", w.ctypes.data)
      self.d.execute(
        self.fwd,
        {"src": (self.src, x.ctypes.data), "weights": wts, "dst": (self.dst, out.ctypes.data)},
      )

  def backward_data(self, out: np.ndarray, g: np.ndarray, w: np.ndarray) -> None:
    with self.d.lock:
      wts = self._weights_as(self.to_bwd_data_w, self.bwd_data_w, "bwd_data", w.ctypes.data)
      args = {"diff_dst": (self.dst, g.ctypes.data), "weights": wts}
      self.d.execute(self.bwd_data, {**args, "diff_src": (self.src, out.ctypes.data)})

  def backward_weights(self, out: np.ndarray, x: np.ndarray, g: np.ndarray) -> None:
    with self.d.lock:
      args = {"src": (self.src, x.ctypes.data), "diff_dst": (self.dst, g.ctypes.data)}
      if self.from_bwd_diff_w is None:
        self.d.execute(self.bwd_weights, {**args, "diff_weights": (self.weights, out.ctypes.data)})
        return
      ptr = self.scratch["diff"].ctypes.data
      self.d.execute(self.bwd_weights, {**args, "diff_weights": (self.bwd_diff_w, ptr)})
      self.d.execute(
        self.from_bwd_diff_w,
        {"src": (self.bwd_diff_w, ptr), "dst": (self.weights, out.ctypes.data)},
      )


_PLANS: dict[Geometry, _Plan] = {}
_PLANS_LOCK = threading.Lock()


def _plan(g: Geometry) -> _Plan | None:
  """The cached primitives for ``g``; None when oneDNN is unavailable or rejects ``g``."""
  d = _dnnl()
  if d is None:
    return None
  with _PLANS_LOCK:
    if g not in _PLANS:
      try:
        _PLANS[g] = _Plan(d, g)
      except RuntimeError:
        _PLANS[g] = None
    return _PLANS[g]


def _lax_conv(x: Array, w: Array, g: Geometry, precision) -> Array:
  return lax.conv_general_dilated(
    x, w, g.strides, g.padding, rhs_dilation=g.dilation, dimension_numbers=_NHWC,
    precision=precision,
  )  # fmt: skip


def _lax_vjp(x: Array, w: Array, ct: Array, g: Geometry, precision) -> tuple[Array, Array]:
  return jax.vjp(functools.partial(_lax_conv, g=g, precision=precision), x, w)[1](ct)


def _forward(x: Array, w: Array, g: Geometry, precision) -> Array:
  out = jax.ShapeDtypeStruct((g.batch, *g.out_hw, g.out_channels), jnp.float32)
  cpu = functools.partial(_on_host, _PLANS[g].forward, out)
  default = functools.partial(_lax_conv, g=g, precision=precision)
  return lax.platform_dependent(x, w, cpu=cpu, default=default)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def _onednn_conv(x: Array, w: Array, g: Geometry, precision) -> Array:
  return _forward(x, w, g, precision)


def _onednn_conv_fwd(x, w, g, precision):
  return _forward(x, w, g, precision), (x, w)


def _onednn_conv_bwd(g, precision, res, ct):
  x, w = res
  plan = _PLANS[g]
  dx_cpu = functools.partial(_on_host, plan.backward_data, jax.ShapeDtypeStruct(x.shape, x.dtype))
  dw_cpu = functools.partial(
    _on_host, plan.backward_weights, jax.ShapeDtypeStruct(w.shape, w.dtype)
  )
  dx = lax.platform_dependent(
    ct, w, cpu=dx_cpu, default=lambda ct, w: _lax_vjp(x, w, ct, g, precision)[0]
  )
  dw = lax.platform_dependent(
    x, ct, cpu=dw_cpu, default=lambda x, ct: _lax_vjp(x, w, ct, g, precision)[1]
  )
  return dx, dw


_onednn_conv.defvjp(_onednn_conv_fwd, _onednn_conv_bwd)


def _geometry(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation, dimension_numbers):
  """The :class:`Geometry` of a call oneDNN can run, or None."""
  if lhs.ndim != 4 or rhs.ndim != 4 or any(d != 1 for d in (lhs_dilation or (1, 1))):
    return None
  if lhs.size == 0 or rhs.size == 0:
    return None
  if lax.conv_dimension_numbers(lhs.shape, rhs.shape, dimension_numbers) != _NHWC:
    return None
  g = Geometry(
    batch=lhs.shape[0], in_hw=tuple(lhs.shape[1:3]), in_channels=lhs.shape[3],
    out_channels=rhs.shape[3], kernel_hw=tuple(rhs.shape[:2]),
    strides=tuple(window_strides), padding=((0, 0), (0, 0)),
    dilation=tuple(rhs_dilation or (1, 1)),
  )  # fmt: skip
  if isinstance(padding, str):
    padding = lax.padtype_to_pads(g.in_hw, g.dilated_kernel_hw, g.strides, padding)
  g = g._replace(padding=tuple((int(lo), int(hi)) for lo, hi in padding))
  if any(p < 0 for pair in g.padding for p in pair) or min(g.out_hw) < 1:
    return None
  return g


def conv_general_dilated(
  lhs: Array,
  rhs: Array,
  window_strides,
  padding,
  lhs_dilation=None,
  rhs_dilation=None,
  dimension_numbers=None,
  feature_group_count: int = 1,
  batch_group_count: int = 1,
  precision=None,
  preferred_element_type=None,
  out_sharding=None,
) -> Array:
  """``lax.conv_general_dilated`` whose CPU lowering runs oneDNN (paper Eq. 1's ``W ⊛ s``).

  The synaptic current of a convolutional spiking layer, ``c[t] = W ⊛ s^{l−1}[t]``
  (Eq. 1), is a cross-correlation: ``y[n, i, j, o] = Σ_{a, b, c} x_pad[n, i·s + a·d,
  j·s + b·d, c] · w[a, b, c, o]``. Arguments and result are those of
  ``lax.conv_general_dilated``, and so is the value on every backend. On the CPU backend a
  float32, NHWC/HWIO, single-group call without input dilation runs oneDNN's forward
  primitive, and its gradients oneDNN's backward-data and backward-weights primitives
  (float32 throughout, as XLA:CPU's own); any other call, and every call on GPU/TPU, is
  XLA's convolution with the given ``precision``. See the module docstring for when oneDNN is used.

  Example (a flax layer on it)::

      conv = nnx.Conv(64, 128, (3, 3), padding=1, use_bias=False, rngs=rngs,
                      conv_general_dilated=asgl_jax.conv.conv_general_dilated)
  """
  if (
    feature_group_count != 1
    or batch_group_count != 1
    or out_sharding is not None
    or preferred_element_type not in (None, jnp.float32)
    or jnp.result_type(lhs) != jnp.float32
    or jnp.result_type(rhs) != jnp.float32
  ):
    geometry = None
  else:
    geometry = _geometry(
      lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation, dimension_numbers
    )
  if geometry is None or _plan(geometry) is None:
    return lax.conv_general_dilated(
      lhs, rhs, window_strides, padding, lhs_dilation=lhs_dilation, rhs_dilation=rhs_dilation,
      dimension_numbers=dimension_numbers, feature_group_count=feature_group_count,
      batch_group_count=batch_group_count, precision=precision,
      preferred_element_type=preferred_element_type, out_sharding=out_sharding,
    )  # fmt: skip
  return _onednn_conv(jnp.asarray(lhs), jnp.asarray(rhs), geometry, precision)

"""asgl_jax.conv: oneDNN convolutions on CPU, checked against the cross-correlation's sums."""

import importlib.metadata
import os
import platform
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from asgl_jax import conv, models

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NHWC = ("NHWC", "HWIO", "NHWC")
ON_X86_LINUX = sys.platform == "linux" and platform.machine() == "x86_64"


def _installed(package: str) -> bool:
  try:
    importlib.metadata.version(package)
    return True
  except importlib.metadata.PackageNotFoundError:
    return False


def _cpu_text(fn, *args) -> str:
  """``fn``'s lowering for the CPU backend, whatever the default backend is."""
  return jax.jit(fn).trace(*args).lower(lowering_platforms=("cpu",)).as_text()


def _pads(x_hw, k_hw, strides, dilation, padding):
  if isinstance(padding, str):
    dilated = [(k - 1) * d + 1 for k, d in zip(k_hw, dilation, strict=True)]
    return jax.lax.padtype_to_pads(x_hw, dilated, strides, padding)
  return padding


def _reference(x, w, ct, strides, padding, dilation):
  """y, ∂x, ∂w of ``y[n,i,j,o] = Σ_{a,b,c} x_pad[n, i·s + a·d, j·s + b·d, c] w[a,b,c,o]``,
  summed in float64 over the kernel offsets (a, b)."""
  x, w, ct = (np.asarray(v, np.float64) for v in (x, w, ct))
  (ph, pw) = _pads(x.shape[1:3], w.shape[:2], strides, dilation, padding)
  xp = np.pad(x, ((0, 0), ph, pw, (0, 0)))
  n, oh, ow, co = ct.shape
  (sh, sw), (dh, dw_) = strides, dilation
  y = np.zeros((n, oh, ow, co))
  dxp, dw = np.zeros_like(xp), np.zeros_like(w)
  for a in range(w.shape[0]):
    for b in range(w.shape[1]):
      rows = slice(a * dh, a * dh + (oh - 1) * sh + 1, sh)
      cols = slice(b * dw_, b * dw_ + (ow - 1) * sw + 1, sw)
      patch = xp[:, rows, cols, :]  # [n, oh, ow, ci]
      y += patch @ w[a, b]
      dw[a, b] = np.einsum("nijc,nijo->co", patch, ct)
      dxp[:, rows, cols, :] += ct @ w[a, b].T
  dx = dxp[:, ph[0] : ph[0] + x.shape[1], pw[0] : pw[0] + x.shape[2], :]
  return y, dx, dw


CASES = [
  # (N, H, W, Cin, Cout, kernel, strides, padding, dilation)
  (4, 12, 12, 8, 16, (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1)),  # B's layers
  (3, 9, 11, 5, 7, (3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1)),  # ResNet's stride-2 3×3
  (3, 9, 9, 6, 4, (1, 1), (2, 2), ((0, 0), (0, 0)), (1, 1)),  # ResNet's 1×1 shortcut
  (2, 10, 10, 3, 5, (3, 3), (1, 1), "SAME", (1, 1)),
  (2, 11, 8, 3, 4, (3, 2), (2, 1), "VALID", (1, 1)),
  (2, 10, 10, 4, 3, (3, 3), (1, 1), ((2, 1), (0, 2)), (2, 2)),  # asymmetric pads, dilation
]


@pytest.mark.parametrize("case", CASES)
def test_value_and_gradients_match_the_sums(case):
  n, h, w_, ci, co, k, strides, padding, dilation = case
  rng = np.random.default_rng(0)
  x = rng.normal(size=(n, h, w_, ci)).astype(np.float32)
  w = rng.normal(size=(*k, ci, co)).astype(np.float32)

  def f(x, w):
    return conv.conv_general_dilated(
      x, w, strides, padding, rhs_dilation=dilation, dimension_numbers=NHWC
    )

  y = jax.jit(f)(x, w)
  ct = rng.normal(size=y.shape).astype(np.float32)
  dx, dw = jax.jit(lambda x, w, ct: jax.vjp(f, x, w)[1](ct))(x, w, ct)
  y_ref, dx_ref, dw_ref = _reference(x, w, ct, strides, padding, dilation)
  np.testing.assert_allclose(y, y_ref, rtol=1e-5, atol=1e-4)
  np.testing.assert_allclose(dx, dx_ref, rtol=1e-5, atol=1e-4)
  np.testing.assert_allclose(dw, dw_ref, rtol=1e-5, atol=1e-4)
  # The CPU lowering runs oneDNN for all three (when it loads: asserted below).
  text = _cpu_text(jax.grad(lambda x, w: jnp.sum(f(x, w) ** 2), (0, 1)), x, w)
  assert text.count("callback") >= 3 * conv.onednn_available()


@pytest.mark.skipif(not ON_X86_LINUX, reason="the onednn-cpu-gomp wheel is x86-64 Linux only")
@pytest.mark.skipif(not _installed("onednn-cpu-gomp"), reason="run without the package installed")
@pytest.mark.skipif(os.environ.get(conv.ENV_SWITCH) == "0", reason=f"{conv.ENV_SWITCH}=0")
def test_onednn_loads_on_x86_64_linux():
  # setup.cfg installs onednn-cpu-gomp there; if its library did not load, every call would
  # silently fall back to XLA's convolution.
  assert conv.onednn_available()


def test_switch_off_with_the_environment_variable():
  code = textwrap.dedent(
    """
    import jax, jax.numpy as jnp
    from asgl_jax import conv
    f = lambda x, w: conv.conv_general_dilated(x, w, (1, 1), "SAME",
                                               dimension_numbers=("NHWC", "HWIO", "NHWC"))
    text = jax.jit(f).trace(jnp.ones((1, 4, 4, 2)), jnp.ones((3, 3, 2, 2))).lower(
        lowering_platforms=("cpu",)).as_text()
    print(conv.onednn_available(), "callback" in text)
    """
  )
  env = dict(os.environ, PYTHONPATH=ROOT, **{conv.ENV_SWITCH: "0"})
  r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
  assert r.returncode == 0, r.stderr[-3000:]
  assert r.stdout.split() == ["False", "False"]


def test_several_cpu_devices_take_xlas_convolution():
  """Under a 4-device CPU mesh a host callback would run on the gathered batch on every
  device; XLA's convolution is partitioned instead. Values as on one device."""
  code = textwrap.dedent(
    """
    import os
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
    import jax, jax.numpy as jnp, numpy as np
    from jax.sharding import NamedSharding, PartitionSpec as P
    from asgl_jax import conv
    mesh = jax.make_mesh((4,), ("data",), axis_types=(jax.sharding.AxisType.Auto,))
    f = lambda x, w: jnp.sum(conv.conv_general_dilated(
        x, w, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")) ** 2)
    x = np.random.default_rng(0).random((8, 6, 6, 3), np.float32)
    w = np.random.default_rng(1).random((3, 3, 3, 4), np.float32)
    g = jax.jit(jax.grad(f, (0, 1)))
    xs = jax.device_put(x, NamedSharding(mesh, P("data")))
    ws = jax.device_put(w, NamedSharding(mesh, P()))
    text = g.lower(xs, ws).compile().as_text()
    dx, dw = g(xs, ws)
    ref = jax.grad(lambda x, w: jnp.sum(jax.lax.conv_general_dilated(
        x, w, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")) ** 2), (0, 1))(x, w)
    np.testing.assert_allclose(dx, ref[0], rtol=1e-5)
    np.testing.assert_allclose(dw, ref[1], rtol=1e-5)
    print(conv.onednn_available(), "callback" in text)
    """
  )
  env = dict(os.environ, PYTHONPATH=ROOT)
  r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
  assert r.returncode == 0, r.stderr[-3000:]
  assert r.stdout.split() == ["False", "False"]


@pytest.mark.parametrize(
  "kwargs, dtype",
  [
    ({"feature_group_count": 2}, jnp.float32),  # grouped
    ({"lhs_dilation": (2, 2)}, jnp.float32),  # transposed convolution
    ({}, jnp.bfloat16),
    ({"dimension_numbers": ("NCHW", "OIHW", "NCHW")}, jnp.float32),
  ],
)
def test_other_calls_are_xlas_convolution(kwargs, dtype):
  kwargs = {"dimension_numbers": NHWC, **kwargs}
  nchw = kwargs["dimension_numbers"][0] == "NCHW"
  x = jnp.asarray(np.random.default_rng(0).normal(size=(2, 4, 6, 6) if nchw else (2, 6, 6, 4)))
  w = jnp.asarray(np.random.default_rng(1).normal(size=(2, 4, 3, 3) if nchw else (3, 3, 4, 2)))
  if kwargs.get("feature_group_count"):
    w = w[..., :2, :] if not nchw else w[:, :2]
  x, w = x.astype(dtype), w.astype(dtype)
  pads = ((1, 1), (1, 1))
  f = lambda x, w: conv.conv_general_dilated(x, w, (1, 1), pads, **kwargs)  # noqa: E731
  ref = jax.lax.conv_general_dilated(x, w, (1, 1), pads, **kwargs)
  assert "callback" not in _cpu_text(f, x, w)
  np.testing.assert_array_equal(jax.jit(f)(x, w), ref)


def test_gpu_and_tpu_lower_to_xlas_convolution():
  x, w = jnp.ones((2, 8, 8, 3)), jnp.ones((3, 3, 3, 4))
  grad = jax.jit(
    jax.grad(
      lambda x, w: jnp.sum(conv.conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=NHWC)),
      (0, 1),
    )
  ).trace(x, w)
  for platform_name in ("cuda", "tpu"):
    text = grad.lower(lowering_platforms=(platform_name,)).as_text()
    assert "callback" not in text and text.count("convolution") >= 2, platform_name


def test_vmap_and_flax_layer():
  rng = np.random.default_rng(0)
  x = jnp.asarray(rng.normal(size=(3, 2, 6, 6, 4)), jnp.float32)
  layer = nnx.Conv(
    4, 5, (3, 3), padding=1, use_bias=False, rngs=nnx.Rngs(0),
    conv_general_dilated=conv.conv_general_dilated,
  )  # fmt: skip
  got = jax.vmap(lambda xi: layer(xi))(x)
  want = jax.lax.conv_general_dilated(
    x.reshape(6, 6, 6, 4), layer.kernel[...], (1, 1), ((1, 1), (1, 1)), dimension_numbers=NHWC
  ).reshape(3, 2, 6, 6, 5)
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_model_convolutions_take_onednn_on_cpu():
  model = models.resnet_tiny(num_classes=4, time_steps=2, rngs=nnx.Rngs(0))
  graphdef, state = nnx.split(model)

  def loss(state, x):
    out = nnx.merge(graphdef, state)(x, key=jax.random.key(0), p=0.8, train=True)
    return jnp.mean(out)

  text = _cpu_text(jax.grad(loss), state, jnp.ones((2, 16, 16, 3)))
  assert ("callback" in text) == conv.onednn_available()


def test_an_empty_batch_is_xlas_convolution():
  x, w = jnp.ones((0, 5, 5, 2)), jnp.ones((3, 3, 2, 4))

  def f(x, w):
    return jnp.sum(conv.conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=NHWC))

  assert "callback" not in _cpu_text(jax.grad(f, (0, 1)), x, w)
  np.testing.assert_array_equal(jax.grad(f, 1)(x, w), np.zeros((3, 3, 2, 4)))

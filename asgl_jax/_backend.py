"""Which lowering a computation takes: plain XLA, or :mod:`asgl_jax.cpu`'s where it is faster.

:mod:`asgl_jax.cpu` holds what exists only because XLA:CPU is slow at our shapes. It is
imported, lazily and from here only, in a process whose default backend is the CPU: a process
that computes on a GPU or TPU never imports, traces or runs it. Inside a CPU process the CPU
lowering is still chosen per lowering platform (``lax.platform_dependent``), so lowering for
CUDA or TPU from a CPU host gives plain XLA as well.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os

import jax
import jax.numpy as jnp


def computes_on_cpu() -> bool:
  """Whether this process computes on XLA:CPU (its default backend; initialises JAX)."""
  return jax.default_backend() == "cpu"


def cpu_only_host() -> bool:
  """Whether this process will compute on the CPU, decided without initialising a backend
  (``jax.distributed.initialize`` must run first): ``JAX_PLATFORMS`` names the CPU first, or it
  is unset and no accelerator plugin (a ``jax_plugins`` package, libtpu) is installed."""
  platforms = os.environ.get("JAX_PLATFORMS", "").strip()
  if platforms:
    return platforms.split(",")[0].strip() == "cpu"
  if importlib.util.find_spec("libtpu") is not None:
    return False
  if importlib.metadata.entry_points(group="jax_plugins"):
    return False
  spec = importlib.util.find_spec("jax_plugins")
  return spec is None or not list(spec.submodule_search_locations or [])


def sum_to_shape(x: jax.Array, shape: tuple[int, ...]) -> jax.Array:
  """Sums ``x`` over the axes that broadcasting added to ``shape``."""
  lead = x.ndim - len(shape)
  axes = tuple(range(lead)) + tuple(
    lead + i for i, d in enumerate(shape) if d == 1 and x.shape[lead + i] != 1
  )
  return jnp.sum(x, axis=axes, keepdims=False).reshape(shape) if axes else x.reshape(shape)


def param_grad_sum(x: jax.Array, shape: tuple[int, ...]) -> jax.Array:
  """:func:`sum_to_shape` for a parameter's gradient summed over an activation-sized tensor
  (∂α, ∂γ, ∂ϑ of a layer). A CPU process lowers it for the CPU as
  :func:`asgl_jax.cpu.param_grad_sum` does; the value is the same sum up to float rounding."""
  if computes_on_cpu():
    from asgl_jax import cpu

    return cpu.param_grad_sum(x, tuple(shape))
  return sum_to_shape(x, tuple(shape))


def compiler_options(backend: str | None = None) -> dict[str, str] | None:
  """XLA options for ``jax.jit(..., compiler_options=...)`` of training and evaluation steps.

  On CPU, :func:`asgl_jax.cpu.compiler_options`; ``None`` (XLA's defaults) on GPU and TPU.

  Example::

      step = jax.jit(make_train_step(graphdef, tx, loss_fn),
                     compiler_options=train.compiler_options(), donate_argnums=0)

  Args:
    backend: ``"cpu"``, ``"gpu"``, ``"tpu"``; default ``jax.default_backend()``.
  """
  if (backend or jax.default_backend()) != "cpu":
    return None
  from asgl_jax import cpu

  return cpu.compiler_options()


def relaunch_with_hugepages(module: str) -> None:
  """On a host that computes on the CPU only (:func:`cpu_only_host`), restarts
  ``python -m <module> ...`` with transparent huge pages for malloc's large buffers
  (:func:`asgl_jax.cpu.relaunch_with_hugepages`); elsewhere does nothing. Call it first thing
  under ``if __name__ == "__main__":``. ``ASGL_JAX_HUGEPAGES=0`` turns it off."""
  if os.environ.get("ASGL_JAX_HUGEPAGES", "1") == "0" or not cpu_only_host():
    return
  from asgl_jax import cpu

  cpu.relaunch_with_hugepages(module)


def hugepages_active() -> bool:
  """Whether this process runs with :func:`relaunch_with_hugepages`'s malloc setting."""
  if not computes_on_cpu():
    return False
  from asgl_jax import cpu

  return cpu.hugepages_active()


def spike_matmul(s: jax.Array, w: jax.Array) -> jax.Array:
  """``s.astype(w.dtype) @ w`` for validated bool/integer spikes: event-driven in a CPU
  process (:func:`asgl_jax.cpu.spike_matmul`), XLA's dense matmul elsewhere."""
  if computes_on_cpu():
    from asgl_jax import cpu

    return cpu.spike_matmul(s, w)
  return jnp.matmul(s.astype(w.dtype), w)

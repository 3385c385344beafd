"""How asgl_jax runs fast on XLA:CPU: kernels, lowering choices, compiler options, process set-up.

Nothing here changes what is computed; each piece exists because XLA:CPU is slow at our shapes
(measurements in ``docs/performance.md``):

- :func:`spike_matmul`: event-driven ``s @ W`` for sparse bool/integer spikes, SciPy CSR
  kernels run on XLA's buffers through a host callback (:mod:`asgl_jax.cpu.event_matmul`).
- :func:`param_grad_sum`: the gradient sums of α, γ and ϑ as a matrix product, which XLA:CPU
  fuses with its summand (:mod:`asgl_jax.cpu.reductions`).
- :func:`compiler_options`: YNNPACK for reductions only (:mod:`asgl_jax.cpu.compile`).
- :func:`hugepage_env`, :func:`relaunch_with_hugepages`: transparent huge pages for malloc's
  large buffers (:mod:`asgl_jax.cpu.hugepages`).

The platform-neutral modules import this package lazily, only in a process that computes on
the CPU (``asgl_jax._backend``); GPU and TPU processes never load it.
"""

from asgl_jax.cpu.compile import compiler_options
from asgl_jax.cpu.event_matmul import spike_matmul
from asgl_jax.cpu.hugepages import (
  HUGEPAGE_TUNABLE,
  hugepage_env,
  hugepages_active,
  relaunch_with_hugepages,
)
from asgl_jax.cpu.reductions import param_grad_sum

__all__ = [
  "HUGEPAGE_TUNABLE",
  "compiler_options",
  "hugepage_env",
  "hugepages_active",
  "param_grad_sum",
  "relaunch_with_hugepages",
  "spike_matmul",
]

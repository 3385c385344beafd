"""XLA:CPU compiler options for the training and evaluation steps."""

from __future__ import annotations

import functools
import os
import sys

import jax
import jax.numpy as jnp

# XLA:CPU hands single convolutions, single dots and reductions to YNNPACK. YNNPACK's 3×3
# convolutions (their weight gradients above all) are slower than XLA's own Eigen ones at the
# shapes of our conv nets, while its reductions (the batch-norm statistics) are much faster:
# so the steps keep YNNPACK for reductions only (benchmarks/xla_options.py).
YNN_OPTION = "xla_cpu_experimental_ynn_fusion_type"
CPU_COMPILER_OPTIONS = {YNN_OPTION: "LIBRARY_FUSION_TYPE_REDUCE"}


@functools.cache
def options_accepted() -> bool:
  """Whether this jaxlib compiles with :data:`CPU_COMPILER_OPTIONS` (prints why not)."""
  try:
    jax.jit(lambda x: jnp.sum(x), compiler_options=CPU_COMPILER_OPTIONS).lower(
      jax.ShapeDtypeStruct((8,), jnp.float32)
    ).compile()
  except Exception as e:  # an XLA without the option (or with other values): its defaults
    print(
      f"asgl_jax.train.compiler_options: this jaxlib rejects {CPU_COMPILER_OPTIONS} "
      f"({type(e).__name__}: {str(e).splitlines()[0]}); compiling with XLA's defaults",
      file=sys.stderr,
    )
    return False
  return True


def compiler_options() -> dict[str, str] | None:
  """:data:`CPU_COMPILER_OPTIONS`, or ``None`` where ``XLA_FLAGS`` already sets the option (the
  user's choice wins) or the installed jaxlib rejects it."""
  if YNN_OPTION in os.environ.get("XLA_FLAGS", ""):
    return None
  return dict(CPU_COMPILER_OPTIONS) if options_accepted() else None

"""asgl_jax: Adaptive Smoothing Gradient Learning for spiking neural networks in JAX.

Wang et al., "Adaptive Smoothing Gradient Learning for Spiking Neural
Networks", ICML 2023. The public API:

- :func:`spike`, :func:`spike_with_mask`, :func:`heaviside`, :func:`sample_mask`:
  the ASGL spike primitive (paper Eq. 10, Algorithm 1).
- :func:`lif`, :func:`lif_scan`, :func:`lif_step`, :func:`clif_scan`,
  :func:`recurrent_lif_scan`, ...: neuron dynamics (paper Eq. 1–3, App. A.3–A.4).
- :func:`register_surrogate`, :func:`available_surrogates`, :func:`get_surrogate`:
  forwarding functions ``H_α``.
- :func:`spike_matmul`: the synaptic current ``W s`` of bool/integer spikes, event-driven
  on CPU (paper Eq. 1).
- :mod:`asgl_jax.nn`: Flax NNX layers.
"""

from asgl_jax import nn, surrogate
from asgl_jax.neurons import (
  CLIFState,
  LIFState,
  RecurrentLIFState,
  clif_norm,
  clif_scan,
  clif_step,
  lif,
  lif_scan,
  lif_step,
  recurrent_lif_scan,
  recurrent_lif_step,
)
from asgl_jax.sparse import spike_matmul
from asgl_jax.spiking import (
  fold_in,
  heaviside,
  runtime_checks,
  sample_mask,
  spike,
  spike_with_mask,
)
from asgl_jax.surrogate import (
  Surrogate,
  available_surrogates,
  get_surrogate,
  make_dspike,
  register_surrogate,
)

__version__ = "0.1.0"

__all__ = [
  "CLIFState",
  "LIFState",
  "RecurrentLIFState",
  "Surrogate",
  "available_surrogates",
  "clif_norm",
  "clif_scan",
  "clif_step",
  "fold_in",
  "get_surrogate",
  "heaviside",
  "lif",
  "lif_scan",
  "lif_step",
  "make_dspike",
  "nn",
  "recurrent_lif_scan",
  "recurrent_lif_step",
  "register_surrogate",
  "runtime_checks",
  "sample_mask",
  "spike",
  "spike_matmul",
  "spike_with_mask",
  "surrogate",
]

"""pytest: asgl_jax.interop's doctest needs the interop extra (PyTorch, snnTorch, Norse)."""

import importlib.util

_INTEROP = ("torch", "snntorch", "norse")
collect_ignore = (
  [] if all(importlib.util.find_spec(m) for m in _INTEROP) else ["asgl_jax/interop.py"]
)

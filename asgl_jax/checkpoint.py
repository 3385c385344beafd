"""Orbax checkpoints of the training state in ``<workdir>/checkpoints``.

Each save also records a CRC-32 of every array (``<workdir>/checkpoints.crc.json``, written by
process 0); :meth:`Checkpointer.restore_latest` restores the newest checkpoint that reads
back, has only finite values and matches its CRC, and falls back to an older one (with a
one-line message) when it does not.
"""

from __future__ import annotations

import json
import os
import sys
import zlib

import jax
import numpy as np
import orbax.checkpoint as ocp


def _host_leaves(tree):
  """This process's copy of every array leaf (the whole array when it is replicated)."""
  for leaf in jax.tree_util.tree_leaves(tree):
    if isinstance(leaf, jax.Array):
      if jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
        leaf = jax.random.key_data(leaf)
      if not leaf.is_fully_addressable:
        leaf = leaf.addressable_data(0)
    yield np.asarray(leaf)


def tree_crc(tree) -> int:
  """CRC-32 over the bytes of every array leaf of ``tree``, in leaf order."""
  crc = 0
  for a in _host_leaves(tree):
    crc = zlib.crc32(np.ascontiguousarray(a).tobytes(), crc)
  return crc


def _finite(tree) -> bool:
  return all(
    np.all(np.isfinite(a)) for a in _host_leaves(tree) if np.issubdtype(a.dtype, np.inexact)
  )


class Checkpointer:
  """Saves and restores a pytree (the train state plus loop bookkeeping) by step."""

  def __init__(self, workdir: str, *, max_to_keep: int = 3):
    self.path = os.path.abspath(os.path.join(workdir, "checkpoints"))
    self.crc_path = self.path + ".crc.json"
    self.max_to_keep = max_to_keep
    self.manager = self._manager()

  def _manager(self):
    return ocp.CheckpointManager(
      self.path, options=ocp.CheckpointManagerOptions(max_to_keep=self.max_to_keep, create=True)
    )

  def latest_step(self) -> int | None:
    return self.manager.latest_step()

  def _crcs(self) -> dict[str, int]:
    try:
      with open(self.crc_path) as f:
        data = json.load(f)
      return {str(k): int(v) for k, v in data.items()} if isinstance(data, dict) else {}
    except (OSError, ValueError):
      return {}

  def save(self, step: int, tree) -> None:
    self.manager.save(step, args=ocp.args.StandardSave(tree))
    self.manager.wait_until_finished()
    if jax.process_index() == 0:
      kept = {str(s) for s in self.manager.all_steps()}
      crcs = {k: v for k, v in self._crcs().items() if k in kept}
      crcs[str(step)] = tree_crc(tree)
      tmp = self.crc_path + ".tmp"
      with open(tmp, "w") as f:
        json.dump(crcs, f)
      os.replace(tmp, self.crc_path)

  def restore(self, step: int, like):
    """Restores ``step`` into the structure, dtypes and shardings of ``like``."""
    abstract = jax.tree_util.tree_map(ocp.utils.to_shape_dtype_struct, like)
    return self.manager.restore(step, args=ocp.args.StandardRestore(abstract))

  def restore_latest(self, like):
    """``(step, tree)`` of the newest checkpoint that restores, is finite and matches its
    recorded CRC (checkpoints written before CRCs existed are checked for finiteness only);
    ``(None, None)`` when there is none. Each one skipped is named on stderr and moved to
    ``<workdir>/checkpoints_skipped/`` (Orbax never saves a step at or below its newest one,
    so a bad or stray newer step would silently stop every later save)."""
    crcs = self._crcs()
    skipped: list[int] = []
    try:
      return self._restore_latest(like, crcs, skipped)
    finally:
      if skipped:
        self._set_aside(skipped)

  def _set_aside(self, steps: list[int]) -> None:
    aside = os.path.join(os.path.dirname(self.path), "checkpoints_skipped")
    self.manager.close()
    if jax.process_index() == 0:
      os.makedirs(aside, exist_ok=True)
      for step in steps:
        src = os.path.join(self.path, str(step))
        if os.path.exists(src):
          dst = os.path.join(aside, str(step))
          n = 1
          while os.path.exists(dst):
            dst, n = os.path.join(aside, f"{step}.{n}"), n + 1
          os.replace(src, dst)
          print(f"asgl_jax: moved checkpoint {step} to {dst}", file=sys.stderr)
    if jax.process_count() > 1:
      from jax.experimental import multihost_utils

      multihost_utils.sync_global_devices("asgl_jax: bad checkpoints set aside")
    self.manager = self._manager()

  def _restore_latest(self, like, crcs, skipped):
    for step in sorted(self.manager.all_steps(), reverse=True):
      try:
        tree = self.restore(step, like)
      except Exception as e:  # Orbax / TensorStore raise many types for unreadable data
        why = f"it does not restore ({type(e).__name__}: {str(e).splitlines()[0][:200]})"
      else:
        if not _finite(tree):
          why = "it holds non-finite values"
        elif str(step) in crcs and tree_crc(tree) != crcs[str(step)]:
          why = "its contents do not match the CRC recorded when it was saved"
        else:
          return step, tree
      print(
        f"asgl_jax: skipping checkpoint {step} in {self.path}: {why}; trying an older one",
        file=sys.stderr,
      )
      skipped.append(step)
      # a failed restore can leave the manager's view of the step's items inconsistent
      self.manager.close()
      self.manager = self._manager()
    return None, None

  def close(self) -> None:
    """Waits for saves in flight and releases the manager (again: nothing)."""
    if not getattr(self, "_closed", False):
      self._closed = True
      self.manager.close()

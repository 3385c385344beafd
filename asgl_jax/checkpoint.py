"""Orbax checkpoints of the training state in ``<workdir>/checkpoints``."""

from __future__ import annotations

import os

import jax
import orbax.checkpoint as ocp


class Checkpointer:
  """Saves and restores a pytree (the train state plus loop bookkeeping) by step."""

  def __init__(self, workdir: str, *, max_to_keep: int = 2):
    path = os.path.abspath(os.path.join(workdir, "checkpoints"))
    self.manager = ocp.CheckpointManager(
      path, options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True)
    )
    self.path = path

  def latest_step(self) -> int | None:
    return self.manager.latest_step()

  def save(self, step: int, tree) -> None:
    self.manager.save(step, args=ocp.args.StandardSave(tree))
    self.manager.wait_until_finished()

  def restore(self, step: int, like):
    """Restores ``step`` into the structure, dtypes and shardings of ``like``."""
    abstract = jax.tree_util.tree_map(ocp.utils.to_shape_dtype_struct, like)
    return self.manager.restore(step, args=ocp.args.StandardRestore(abstract))

  def close(self) -> None:
    self.manager.close()

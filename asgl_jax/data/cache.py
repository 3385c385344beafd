"""Preprocessed-data caches (``.npz``) that are never stale, never half-written, never trusted blind.

A cache records what it was built from: the preprocessing ``settings`` and a fingerprint
(name, size, modification time) of each raw ``source`` file. :func:`load` returns ``None`` —
so the caller rebuilds — when the cache is missing, unreadable (a killed write, a truncated
copy), built with other settings, built from raw files that have changed since, or holds arrays
of the wrong shape; it says why on stderr. :func:`save` writes a temporary file and renames it,
so a killed write never leaves a cache behind. Archives are extracted the same way
(:func:`extract_atomically`).

Example:
  >>> import os, tempfile
  >>> import numpy as np
  >>> from asgl_jax.data import cache
  >>> folder = tempfile.mkdtemp()
  >>> raw = os.path.join(folder, "raw.txt")
  >>> with open(raw, "w") as f:
  ...   _ = f.write("events")
  >>> path = os.path.join(folder, "binned.npz")
  >>> cache.save(path, {"x": np.arange(3)}, sources=[raw], settings={"T": 3})
  >>> cache.load(path, sources=[raw], settings={"T": 3})["x"].tolist()
  [0, 1, 2]
  >>> cache.load(path, sources=[raw], settings={"T": 4}) is None  # other settings: rebuild
  True
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import zipfile
from collections.abc import Callable, Iterable

import numpy as np

_META = "_cache_meta"


def fingerprint(sources: Iterable[str]) -> list[list]:
  """``[folder/name, size, mtime_ns]`` of each existing source file, sorted."""
  out = []
  for p in set(sources):
    if os.path.isfile(p):
      st = os.stat(p)
      name = os.path.join(
        os.path.basename(os.path.dirname(os.path.abspath(p))), os.path.basename(p)
      )
      out.append([name, int(st.st_size), int(st.st_mtime_ns)])
  return sorted(out)


def _say(path: str, why: str) -> None:
  print(f"cache {path}: {why}; rebuilding it", file=sys.stderr)


def load(
  path: str,
  *,
  sources: Iterable[str],
  settings: dict,
  check: Callable[[dict[str, np.ndarray]], None] | None = None,
) -> dict[str, np.ndarray] | None:
  """The arrays of the cache at ``path``, or ``None`` if it must be rebuilt (see the module
  docstring). ``check(arrays)`` raises ``ValueError`` for arrays of the wrong shape or type.
  Raw files that are absent (deleted after the cache was built) are not compared."""
  if not os.path.exists(path):
    return None
  try:
    with np.load(path) as z:
      arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays.pop(_META)))
  except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
    _say(path, f"unreadable ({type(e).__name__}: {e})")
    return None
  if meta.get("settings") != json.loads(json.dumps(settings)):
    _say(path, f"built with {meta.get('settings')}, not {settings}")
    return None
  built = {name: rest for name, *rest in meta.get("sources", [])}
  changed = [name for name, *rest in fingerprint(sources) if built.get(name) != rest]
  if changed:  # a raw file that is new or differs (one deleted since is not compared)
    _say(path, f"the raw file {changed[0]} changed since it was built")
    return None
  if check is not None:
    try:
      check(arrays)
    except ValueError as e:
      _say(path, f"wrong contents ({e})")
      return None
  return arrays


def save(
  path: str,
  arrays: dict[str, np.ndarray],
  *,
  sources: Iterable[str],
  settings: dict,
  compress: bool = False,
) -> None:
  """Writes ``arrays`` with the record of ``sources`` and ``settings`` to ``path`` atomically."""
  if _META in arrays:
    raise ValueError(f"cache.save: {_META!r} is reserved")
  meta = json.dumps({"settings": settings, "sources": fingerprint(sources)})
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  tmp = f"{path}.tmp{os.getpid()}"
  try:
    with open(tmp, "wb") as f:
      (np.savez_compressed if compress else np.savez)(f, **arrays, **{_META: np.array(meta)})
    os.replace(tmp, path)
  finally:
    if os.path.exists(tmp):
      os.remove(tmp)


def extract_atomically(extract: Callable[[str], None], target: str, dest_dir: str) -> None:
  """Runs ``extract(tmp_dir)``, which must create ``tmp_dir/<basename of target>``, then moves
  that into ``dest_dir``: ``target`` appears whole or not at all."""
  name = os.path.basename(os.path.normpath(target))
  tmp = os.path.join(dest_dir, f".{name}.extracting{os.getpid()}")
  shutil.rmtree(tmp, ignore_errors=True)
  os.makedirs(tmp)
  try:
    extract(tmp)
    made = os.path.join(tmp, name)
    if not os.path.exists(made):
      raise FileNotFoundError(f"the archive has no {name}")
    os.replace(made, os.path.join(dest_dir, name))
  finally:
    shutil.rmtree(tmp, ignore_errors=True)

"""Transparent huge pages for malloc's large host buffers (glibc's ``malloc.hugetlb`` tunable).

XLA:CPU allocates a step's temporaries and large outputs afresh on every call; glibc serves
allocations above 32 MiB with ``mmap`` and returns them with ``munmap``, so every step faults
its buffers in again, 4 KiB at a time, and the kernel zeroes each page. With
``GLIBC_TUNABLES=glibc.malloc.hugetlb=1`` (glibc >= 2.35) malloc asks for transparent huge
pages on those mappings: hundreds of faults per step instead of tens of thousands, same results
(benchmarks/host_malloc.py). The tunable is read when the process starts, so the experiment
mains restart themselves with it (:func:`relaunch_with_hugepages`).
"""

from __future__ import annotations

import os
import sys

_HUGETLB = "glibc.malloc.hugetlb"
HUGEPAGE_TUNABLE = f"{_HUGETLB}=1"
_THP_MODE_FILE = "/sys/kernel/mm/transparent_hugepage/enabled"


def _thp_mode() -> str:
  try:
    with open(_THP_MODE_FILE) as f:
      return f.read()
  except OSError:
    return ""


def hugepages_active(environ=None) -> bool:
  """Whether this process's malloc was started with :data:`HUGEPAGE_TUNABLE`."""
  return HUGEPAGE_TUNABLE in (os.environ if environ is None else environ).get("GLIBC_TUNABLES", "")


def hugepage_env(
  environ=None, *, libc: tuple[str, str] | None = None, thp: str | None = None
) -> dict[str, str] | None:
  """The environment with ``GLIBC_TUNABLES`` extended by :data:`HUGEPAGE_TUNABLE`, or ``None``.

  ``None`` where the setting cannot help or the user decided otherwise:
  ``ASGL_JAX_HUGEPAGES=0``; not Linux with glibc >= 2.35; transparent huge pages off
  (``never`` in ``/sys/kernel/mm/transparent_hugepage/enabled``); ``GLIBC_TUNABLES``
  already names ``glibc.malloc.hugetlb`` (the user's setting wins). Run your own
  training script with it from a shell::

      GLIBC_TUNABLES=glibc.malloc.hugetlb=1 python my_train.py

  Args:
    environ: the environment to extend (default ``os.environ``); it is not modified.
    libc: ``(name, version)`` (default ``platform.libc_ver()``), for tests.
    thp: the contents of the THP mode file (default: read it), for tests.

  Example:
    >>> from asgl_jax.cpu import hugepage_env
    >>> env = hugepage_env({"PATH": "/bin"}, libc=("glibc", "2.39"), thp="always [madvise] never")
    >>> env["GLIBC_TUNABLES"]
    'glibc.malloc.hugetlb=1'
    >>> hugepage_env({"ASGL_JAX_HUGEPAGES": "0"}, libc=("glibc", "2.39"), thp="[always]") is None
    True
  """
  import platform

  env = dict(os.environ if environ is None else environ)
  if env.get("ASGL_JAX_HUGEPAGES", "1") == "0" or not sys.platform.startswith("linux"):
    return None
  name, version = platform.libc_ver() if libc is None else libc
  try:
    major_minor = tuple(int(v) for v in version.split(".")[:2])
  except ValueError:
    return None
  if name != "glibc" or major_minor < (2, 35):
    return None
  mode = _thp_mode() if thp is None else thp
  if "[always]" not in mode and "[madvise]" not in mode:
    return None
  tunables = env.get("GLIBC_TUNABLES", "")
  if _HUGETLB in tunables:
    return None
  env["GLIBC_TUNABLES"] = f"{tunables}:{HUGEPAGE_TUNABLE}" if tunables else HUGEPAGE_TUNABLE
  return env


def relaunch_with_hugepages(module: str) -> None:
  """Restarts ``python -m <module> ...`` with :func:`hugepage_env`'s environment.

  Returns without doing anything unless this process was started as ``python -m <module>``
  (never from a notebook, ``runpy`` or a test) and :func:`hugepage_env` gives an
  environment; otherwise it replaces the process (``os.execve``, same arguments and
  interpreter options) and prints one line to stderr.
  """
  argv = list(getattr(sys, "orig_argv", ()))
  try:
    launched = argv[argv.index("-m") + 1] == module
  except (ValueError, IndexError):
    launched = False
  if not launched or os.environ.get("_ASGL_JAX_RELAUNCHED") == "1":
    return
  env = hugepage_env()
  if env is None:
    return
  env["_ASGL_JAX_RELAUNCHED"] = "1"  # never twice, whatever glibc makes of the tunable
  print(
    f"asgl_jax: restarting with GLIBC_TUNABLES={env['GLIBC_TUNABLES']} (transparent huge "
    "pages for XLA's host buffers; ASGL_JAX_HUGEPAGES=0 turns this off)",
    file=sys.stderr,
    flush=True,
  )
  sys.stdout.flush()
  os.execve(sys.executable, [sys.executable, *argv[1:]], env)

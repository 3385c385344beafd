"""asgl_jax.cpu: compiler options, huge pages, and that the CPU room stays closed elsewhere."""

import os
import re
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np

from asgl_jax import cpu, train
from asgl_jax.cpu import compile


def _ops_in_ynn_fusions(hlo_text: str) -> set[str]:
  """HLO opcodes inside the computations that XLA:CPU hands to YNNPACK (``__ynn_fusion``)."""
  bodies, name, lines = {}, None, []
  for line in hlo_text.splitlines():
    m = re.match(r"^(?:ENTRY )?%?([\w.\-]+) .*\{$", line)
    if m:
      name, lines = m.group(1), []
    elif line.startswith("}") and name:
      bodies[name], name = "\n".join(lines), None
    elif name:
      lines.append(line)
  called = re.findall(r"calls=%?([\w.\-]+),[^\n]*__ynn_fusion", hlo_text)
  return {op for c in called for op in re.findall(r"= \S+ ([a-z][\w\-]*)\(", bodies.get(c, ""))}


def test_cpu_compiler_options_keep_convolutions_out_of_ynnpack(monkeypatch):
  """``train.compiler_options()`` on CPU: convolutions (and their gradients) compile to XLA's
  own kernels, reductions still to YNNPACK; the values are the default compilation's up to
  rounding. None on GPU/TPU and when XLA_FLAGS sets the option itself."""
  monkeypatch.delenv("XLA_FLAGS", raising=False)
  opts = train.compiler_options()
  assert opts == {"xla_cpu_experimental_ynn_fusion_type": "LIBRARY_FUSION_TYPE_REDUCE"}
  assert train.compiler_options("gpu") is None and train.compiler_options("tpu") is None
  monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_experimental_ynn_fusion_type=dot")
  assert train.compiler_options() is None
  monkeypatch.delenv("XLA_FLAGS")

  def loss(x, w):  # conv, then batch-norm statistics (reductions) and a loss
    y = jax.lax.conv_general_dilated(
      x, w, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")
    )
    mean = jnp.mean(y, axis=(0, 1, 2))
    var = jnp.mean(jnp.square(y - mean), axis=(0, 1, 2))
    return jnp.sum(jnp.tanh((y - mean) / jnp.sqrt(var + 1e-5)))

  x = jax.random.normal(jax.random.key(0), (8, 16, 16, 32))
  w = jax.random.normal(jax.random.key(1), (3, 3, 32, 64)) * 0.1
  grad = jax.grad(loss, argnums=(0, 1))
  ours = jax.jit(grad, compiler_options=opts)
  ops = _ops_in_ynn_fusions(ours.lower(x, w).compile().as_text())
  assert "convolution" not in ops and "reduce" in ops, ops
  for a, b in zip(ours(x, w), jax.jit(grad)(x, w)):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_compiler_options_fall_back_to_xla_defaults_when_rejected(monkeypatch, capsys):
  monkeypatch.setattr(compile, "CPU_COMPILER_OPTIONS", {"xla_cpu_no_such_option": "1"})
  assert compile.options_accepted.__wrapped__() is False
  assert "compiling with XLA's defaults" in capsys.readouterr().err


_GLIBC, _THP = ("glibc", "2.36"), "always [madvise] never\n"


def test_hugepage_env_adds_the_tunable_only_where_it_can_help():
  env = cpu.hugepage_env({"A": "1"}, libc=_GLIBC, thp=_THP)
  assert env == {"A": "1", "GLIBC_TUNABLES": "glibc.malloc.hugetlb=1"}
  other = cpu.hugepage_env({"GLIBC_TUNABLES": "glibc.malloc.arena_max=2"}, libc=_GLIBC, thp=_THP)
  assert other["GLIBC_TUNABLES"] == "glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1"
  assert cpu.hugepage_env({}, libc=_GLIBC, thp="[always] madvise never")["GLIBC_TUNABLES"]
  for environ, libc, thp in (
    ({"GLIBC_TUNABLES": "glibc.malloc.hugetlb=0"}, _GLIBC, _THP),  # the user's setting wins
    ({"ASGL_JAX_HUGEPAGES": "0"}, _GLIBC, _THP),  # opted out
    ({}, ("glibc", "2.34"), _THP),  # no glibc.malloc.hugetlb before 2.35
    ({}, ("", ""), _THP),  # musl, or not found
    ({}, _GLIBC, "always madvise [never]\n"),  # THP off
    ({}, _GLIBC, ""),  # no THP file
  ):
    assert cpu.hugepage_env(environ, libc=libc, thp=thp) is None, (environ, libc, thp)
  source = {"A": "1"}
  cpu.hugepage_env(source, libc=_GLIBC, thp=_THP)
  assert source == {"A": "1"}  # not modified


def test_relaunch_with_hugepages_restarts_only_python_dash_m(tmp_path):
  # In this (pytest) process nothing happens: it was not started as `python -m hp_probe`.
  train.relaunch_with_hugepages("hp_probe")
  (tmp_path / "hp_probe.py").write_text(
    "import os, sys\n"
    "from asgl_jax import train\n"
    "train.relaunch_with_hugepages('hp_probe')\n"
    "print('ARGS', sys.argv[1:], 'TUNABLES', os.environ.get('GLIBC_TUNABLES'))\n"
  )
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  base = {k: v for k, v in os.environ.items() if k not in ("GLIBC_TUNABLES", "ASGL_JAX_HUGEPAGES")}
  base["PYTHONPATH"] = os.pathsep.join([str(tmp_path), root])

  def probe(**extra):
    env = dict(base, **extra)
    r = subprocess.run(
      [sys.executable, "-m", "hp_probe", "--x=1"], capture_output=True, text=True, env=env
    )
    assert r.returncode == 0, r.stderr[-2000:]
    return r

  r = probe()
  if cpu.hugepage_env(base) is None:  # this machine cannot use it: no restart
    assert "restarting" not in r.stderr and "TUNABLES None" in r.stdout
  else:
    assert r.stderr.count("asgl_jax: restarting with GLIBC_TUNABLES=glibc.malloc.hugetlb=1") == 1
    assert r.stdout.count("ARGS") == 1  # the first process ran nothing after the restart
    assert "ARGS ['--x=1'] TUNABLES glibc.malloc.hugetlb=1" in r.stdout
  for extra in ({"ASGL_JAX_HUGEPAGES": "0"}, {"GLIBC_TUNABLES": "glibc.malloc.hugetlb=0"}):
    r = probe(**extra)
    assert "restarting" not in r.stderr, extra
    assert f"TUNABLES {extra.get('GLIBC_TUNABLES')}" in r.stdout


def test_the_huge_page_restart_is_only_decided_for_cpu_only_hosts(monkeypatch):
  """Decided before any backend starts: by JAX_PLATFORMS, else by the installed accelerator
  plugins. A GPU or TPU host never restarts (nor imports the CPU package to decide)."""
  import importlib.metadata

  calls = []
  monkeypatch.setattr(cpu, "relaunch_with_hugepages", calls.append)
  monkeypatch.delenv("ASGL_JAX_HUGEPAGES", raising=False)
  for platforms, restarts in (("cuda,cpu", False), ("tpu", False), ("cpu", True)):
    monkeypatch.setenv("JAX_PLATFORMS", platforms)
    calls.clear()
    train.relaunch_with_hugepages("experiments.mnist")
    assert calls == (["experiments.mnist"] if restarts else []), platforms
  monkeypatch.delenv("JAX_PLATFORMS")
  monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: ["xla_cuda12"])
  calls.clear()
  train.relaunch_with_hugepages("experiments.mnist")  # a CUDA plugin is installed
  assert calls == []

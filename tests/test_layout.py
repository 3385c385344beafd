"""The layout's invariants: the CPU room stays closed, private names stay home, one config reader.

- Nothing outside ``asgl_jax/cpu/`` names the CPU machinery (host callbacks, ctypes, SciPy's
  sparse kernels, YNNPACK, glibc, oneDNN); ``asgl_jax.cpu`` is imported only inside functions
  of ``asgl_jax/_backend.py`` (lazily), and a process computing on an accelerator never loads it.
- No module uses another's private names (the package's own private modules excepted).
- In the library only ``asgl_jax/train/builder.py`` reads an ``ml_collections`` config.
"""

import ast
import os
import pathlib
import re
import subprocess
import sys
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
LIB = ROOT / "asgl_jax"
OURS = ("asgl_jax", "experiments", "benchmarks", "harness", "snn_training", "main_runner")
CPU_WORDS = re.compile(r"buffer_callback|ctypes|scipy\.sparse|ynn|glibc|onednn|dnnl", re.I)


def _files(*dirs):
  for d in dirs:
    yield from sorted((ROOT / d).rglob("*.py"))


def _rel(path):
  return path.relative_to(ROOT).as_posix()


def test_nothing_outside_the_cpu_package_names_the_cpu_machinery():
  bad = []
  for path in _files("asgl_jax", "experiments"):
    if _rel(path).startswith("asgl_jax/cpu/"):
      continue
    for i, line in enumerate(path.read_text().splitlines(), 1):
      if CPU_WORDS.search(line):
        bad.append(f"{_rel(path)}:{i}: {line.strip()}")
  assert not bad, "\n".join(bad)


def _imports(tree):
  """(node, module name, imported names, inside a function) of every import in ``tree``."""
  out = []

  def visit(node, in_function):
    for child in ast.iter_child_nodes(node):
      inner = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
      if isinstance(child, ast.Import):
        out.extend((child, a.name, [a.name], in_function) for a in child.names)
      elif isinstance(child, ast.ImportFrom):
        out.append((child, child.module or "", [a.name for a in child.names], in_function))
      visit(child, inner)

  visit(tree, False)
  return out


def test_the_cpu_package_is_imported_lazily_and_only_by_the_backend_module():
  for path in _files("asgl_jax", "experiments", "notebooks"):
    rel = _rel(path)
    if rel.startswith("asgl_jax/cpu/"):
      continue
    for node, module, names, in_function in _imports(ast.parse(path.read_text())):
      full = [f"{module}.{n}" for n in names] + [module]
      if any(f == "asgl_jax.cpu" or f.startswith("asgl_jax.cpu.") for f in full):
        assert rel == "asgl_jax/_backend.py" and in_function, f"{rel}:{node.lineno}"


def _private(name: str) -> bool:
  return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_no_module_uses_another_modules_private_names():
  bad = []
  for path in _files("asgl_jax", "experiments", "benchmarks", "tests", "notebooks"):
    rel = _rel(path)
    in_lib = rel.startswith("asgl_jax/")
    tree = ast.parse(path.read_text())
    ours = set()  # names bound to our modules
    for node, module, _, _ in _imports(tree):
      if module.split(".")[0] not in OURS:
        continue
      for alias in node.names:
        bound = alias.asname or alias.name.split(".")[0]
        ours.add(bound)
        # The library's own private modules (asgl_jax._backend, _checks) are its business.
        private_module = (
          in_lib and module.startswith("asgl_jax") and alias.name in ("_backend", "_checks")
        )
        if _private(alias.name) and not private_module:
          bad.append(f"{rel}:{node.lineno}: from {module} import {alias.name}")
      if any(_private(part) for part in module.split(".")) and not in_lib:
        bad.append(f"{rel}:{node.lineno}: import of private module {module}")
    for node in ast.walk(tree):
      if isinstance(node, ast.Attribute) and _private(node.attr):
        base = node.value
        while isinstance(base, ast.Attribute):
          base = base.value
        if (
          isinstance(base, ast.Name) and base.id in ours and base.id not in ("_backend", "_checks")
        ):
          bad.append(f"{rel}:{node.lineno}: {ast.unparse(node)}")
  assert not bad, "\n".join(bad)


def test_only_the_builder_reads_a_config():
  readers = []
  for path in _files("asgl_jax"):
    rel = _rel(path)
    if rel.startswith("asgl_jax/configs/"):  # these write configs
      continue
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
      read = (
        isinstance(node, ast.Attribute | ast.Subscript)
        and isinstance(node.value, ast.Name)
        and node.value.id == "config"
      )
      if read or (isinstance(node, ast.alias) and node.name.startswith("ml_collections")):
        readers.append(rel)
  assert set(readers) == {"asgl_jax/train/builder.py"}, sorted(set(readers))


def _run(code: str, timeout: int = 600) -> str:
  env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
  env["PYTHONPATH"] = str(ROOT)
  r = subprocess.run(
    [sys.executable, "-c", textwrap.dedent(code)],
    capture_output=True,
    text=True,
    env=env,
    timeout=timeout,
    cwd=ROOT,
  )
  assert r.returncode == 0, r.stderr[-3000:]
  return r.stdout


_ACCELERATOR_STEP = """
  import jax, jax.numpy as jnp, numpy as np
  {patch}
  from flax import nnx
  from asgl_jax import losses, models, optim, train
  tx = optim.make_optimizer(lr_schedule=0.1)

  def lowered(model, x, platform):
    graphdef, params, stats = train.split_model(model)
    step = jax.jit(train.make_train_step(graphdef, tx, losses.cross_entropy),
                   compiler_options=train.compiler_options())
    state = train.TrainState(jnp.int32(0), params, stats, tx.init(params))
    batch = {{"image": x, "label": jnp.arange(3) % 4}}
    traced = step.trace(state, batch, jax.random.key(0), jnp.float32(0.8))
    return traced.lower(lowering_platforms=(platform,)).as_text()

  cnn = models.get_model("cnn_tiny", num_classes=4, time_steps=2, rngs=nnx.Rngs(0))
  text = lowered(cnn, jnp.ones((3, 28, 28, 1)), "cuda")
  rnn = models.SpikingRNN(700, 64, num_classes=4, time_steps=50, rngs=nnx.Rngs(0),
                          batch_major=True)
  spikes = jnp.asarray(np.random.default_rng(0).random((3, 50, 700)) < 0.02)
  text += lowered(rnn, spikes, "cuda")
  import sys
  maps = open("/proc/self/maps").read()
  print("convolution" in text, "callback" in text, "dnnl" in maps,
        "asgl_jax.cpu" in sys.modules)
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="needs Linux /proc")
def test_lowering_for_cuda_from_a_cpu_process_loads_no_cpu_kernels():
  """A CPU process lowering a conv net's and a recurrent SNN's training step for CUDA: plain
  XLA (no host callback), and no oneDNN library in the process."""
  out = _run(_ACCELERATOR_STEP.format(patch=""))
  conv, callback, dnnl, _ = out.split()
  assert (conv, callback, dnnl) == ("True", "False", "False"), out


def test_a_process_computing_on_an_accelerator_never_loads_the_cpu_package():
  """The same steps in a process whose default backend is a GPU (jax.default_backend
  patched): asgl_jax.cpu is never imported, and the compiler options are XLA's defaults."""
  patch = 'jax.default_backend = lambda: "gpu"'
  out = _run(_ACCELERATOR_STEP.format(patch=patch))
  assert out.split() == ["True", "False", "False", "False"], out


def test_importing_the_library_does_not_load_the_cpu_package():
  out = _run(
    """
    import sys
    import asgl_jax, asgl_jax.train, asgl_jax.models, asgl_jax.data, asgl_jax.analysis
    import asgl_jax.export
    print("asgl_jax.cpu" in sys.modules)
    """
  )
  assert out.strip() == "False"


def test_experiments_is_not_installed(tmp_path):
  """The mains run from a checkout; an installed asgl_jax brings no top-level `experiments`."""
  env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
  r = subprocess.run(
    [sys.executable, "-c", "import importlib.util; print(importlib.util.find_spec('experiments'))"],
    capture_output=True,
    text=True,
    env=env,
    cwd=tmp_path,
    timeout=120,
  )
  assert r.returncode == 0 and r.stdout.strip() == "None", (r.stdout, r.stderr)

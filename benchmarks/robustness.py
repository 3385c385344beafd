"""Probes what a careless user or a hostile file does to asgl_jax, and counts the outcomes.

  python benchmarks/robustness.py [--parts api,files,checkpoints,kills,concurrency] [--kills 16]

Parts (each prints its cases and a summary line; the script ends with one JSON line per part):

- ``api``: bad arguments to every public primitive and neuron function (width α ≤ 0, NaN, inf
  or subnormal; p outside [0, 1] or NaN; decays outside [0, 1]; non-finite thresholds; T = 0;
  integer or mis-shaped inputs; a missing key; an unknown surrogate), each called eagerly
  (forward and gradient) and, for the values that may be traced, inside ``jit`` under
  :func:`asgl_jax.runtime_checks` with ``checkify`` (and, counted apart, without it: traced
  values are documented as unchecked there). *Clear*: a ``ValueError``/``TypeError``
  (or a checkify error) that names the function and the argument; *unclear*: any other error;
  *silent*: a result.
- ``files``: crafted data files in each reader's format (AEDAT 2.0 and 3.1, Gesture label csv,
  SHD HDF5, caches): *rejected* with an error that names the file, *unclear* (an error that
  does not), or *accepted*.
- ``checkpoints``: a short training run keeps its checkpoints; its newest one is damaged in
  one of several ways and the run resumed: *recovered* (it falls back to a good one, or
  resumes from the newest when that is intact) or *failed*.
- ``kills``: the main job (two epochs) killed with SIGKILL at ``--kills`` moments spread evenly
  over an uninterrupted run's duration (imports, compile, training, checkpoint writes), then
  resumed: *exact* when the resumed run's final checkpoint has the uninterrupted run's step and
  CRC-32 over every array (the record ``asgl_jax.checkpoint`` keeps).
- ``concurrency``: two runs on one workdir at once, a run after a killed one left its lock,
  and a resume while the first run is still going: *handled* (refused with a clear message, or
  proceeds correctly) or not.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ----------------------------------------------------------------------------- api


def _api_entries():
  """``name: (function of keyword overrides, the parameters it takes)``."""
  import jax
  import jax.numpy as jnp

  import asgl_jax as A

  u = jnp.linspace(-1.0, 1.0, 8).reshape(2, 4)
  cur = jnp.full((3, 2, 4), 0.7)
  key = jax.random.key(0)
  w = jnp.eye(4) * 0.1

  def base(**kw):
    d = {"alpha": 1.0, "p": 0.5, "key": key, "surrogate": "rect", "u": u, "currents": cur}
    d.update(kw)
    return d

  def scan(fn, **fixed):
    def call(**kw):
      a = base(**kw)
      extra = {
        k: a[k] for k in ("decay", "threshold", "beta_m", "beta_s", "synapse_decay") if k in a
      }
      args = (a["currents"], w) if fn is A.recurrent_lif_scan else (a["currents"],)
      out = fn(
        *args, a["alpha"], key=a["key"], p=a["p"], surrogate=a["surrogate"], **extra, **fixed
      )
      return out[0] if isinstance(out, tuple) else out  # the spikes

    return call

  def step(fn, state, **fixed):
    def call(**kw):
      a = base(**kw)
      extra = {
        k: a[k] for k in ("decay", "threshold", "beta_m", "beta_s", "synapse_decay") if k in a
      }
      x = a["currents"][0]
      args = (state(x), x, w) if fn is A.recurrent_lif_step else (state(x), x)
      out = fn(
        *args, a["alpha"], key=a["key"], p=a["p"], surrogate=a["surrogate"], **extra, **fixed
      )
      return out[1]

    return call

  z = jnp.zeros_like
  lif_params = ("alpha", "p", "key", "surrogate", "currents", "decay", "threshold")
  step_params = tuple(q for q in lif_params if q != "currents")
  entries = {
    "spike": (
      lambda **kw: (
        lambda a: A.spike(a["u"], a["alpha"], key=a["key"], p=a["p"], surrogate=a["surrogate"])
      )(base(**kw)),
      ("alpha", "p", "key", "surrogate", "u"),
    ),
    "spike(train=False)": (
      lambda **kw: (lambda a: A.spike(a["u"], a["alpha"], train=False, surrogate=a["surrogate"]))(
        base(**kw)
      ),
      ("alpha", "surrogate", "u"),
    ),
    "spike_with_mask": (
      lambda **kw: (
        lambda a: A.spike_with_mask(
          a["u"], a["alpha"], jnp.ones_like(a["u"]), surrogate=a["surrogate"]
        )
      )(base(**kw)),
      ("alpha", "surrogate", "u"),
    ),
    "sample_mask": (
      lambda **kw: (lambda a: A.sample_mask(a["key"], a["p"], (2, 4)))(base(**kw)),
      ("p", "key"),
    ),
    "lif_scan": (scan(A.lif_scan), lif_params),
    "lif_scan(fused=False)": (scan(A.lif_scan, fused=False), lif_params),
    "lif_scan(remat=True)": (scan(A.lif_scan, remat=True), lif_params),
    "lif": (scan(A.lif), lif_params),
    "lif_step": (step(A.lif_step, lambda x: A.LIFState(z(x), z(x))), step_params),
    "clif_scan": (
      scan(A.clif_scan),
      ("alpha", "p", "key", "surrogate", "currents", "beta_m", "beta_s", "threshold"),
    ),
    "clif_step": (
      step(A.clif_step, lambda x: A.CLIFState(z(x), z(x), z(x), z(x))),
      ("alpha", "p", "key", "surrogate", "beta_m", "beta_s", "threshold"),
    ),
    "recurrent_lif_scan": (scan(A.recurrent_lif_scan), (*lif_params, "synapse_decay")),
    "recurrent_lif_scan(synapse_decay=0.3)": (
      scan(A.recurrent_lif_scan, synapse_decay=0.3),
      lif_params,
    ),
    "recurrent_lif_step": (
      step(A.recurrent_lif_step, lambda x: A.RecurrentLIFState(z(x), z(x), z(x))),
      (*step_params, "synapse_decay"),
    ),
  }
  bf16 = {
    "lif_scan(bfloat16 currents)": scan(A.lif_scan),
    "clif_scan(bfloat16 currents)": scan(A.clif_scan),
  }
  for name, fn in bf16.items():
    params = entries[name.split("(")[0]][1]
    entries[name] = (
      lambda fn=fn, **kw: fn(**{"currents": cur.astype(jnp.bfloat16), **kw}),
      params,
    )
  return entries


def _bad_values():
  """``param: [(label, value, traceable)]``; traceable values are also passed into ``jit``."""
  import jax.numpy as jnp

  nan, inf = float("nan"), float("inf")
  return {
    "alpha": [
      ("0", 0.0, True),
      ("-1", -1.0, True),
      ("nan", nan, True),
      ("inf", inf, True),
      ("subnormal 1e-45", 1e-45, True),
      ("bool", True, False),
      ("shape [3] vs [.., 4]", jnp.ones(3), False),
    ],
    "p": [
      ("1.5", 1.5, True),
      ("-1", -1.0, True),
      ("nan", nan, True),
      ("shape [2]", jnp.ones(2) * 0.5, False),
    ],
    "decay": [("-0.1", -0.1, True), ("1.5", 1.5, True), ("nan", nan, True)],
    "synapse_decay": [("1.5", 1.5, True), ("nan", nan, True)],
    "beta_m": [("1.5", 1.5, True), ("nan", nan, True)],
    "beta_s": [("-0.5", -0.5, True)],
    "threshold": [("nan", nan, True), ("inf", inf, True)],
    "key": [("None with p = 0.5", None, False), ("a float", 3.0, False)],
    "surrogate": [("unknown name", "no_such_surrogate", False), ("an int", 3, False)],
    "u": [("int32", jnp.ones((2, 4), jnp.int32), False)],
    "currents": [
      ("T = 0", jnp.zeros((0, 2, 4)), False),
      ("int32", jnp.ones((3, 2, 4), jnp.int32), False),
      ("0-d", jnp.float32(1.0), False),
    ],
  }


def _names_it(msg: str, param: str) -> bool:
  """Whether ``msg`` comes from asgl_jax (``"fn: ..."``, or the surrogate registry's
  ``"unknown surrogate ..."``) and names the argument."""
  aliases = {"currents": ("inputs", "time step", "T ="), "u": ("u ", "u's")}
  words = aliases.get(param, (param,))
  ours = re.match(r"^[a-z_]+: ", msg) or msg.startswith("unknown surrogate")
  return bool(ours) and any(w in msg for w in words)


def _classify(exc: BaseException | None, param: str) -> str:
  if exc is None:
    return "silent"
  checkify_error = type(exc).__name__ == "JaxRuntimeError" and "`check` failed" in str(exc)
  if (isinstance(exc, (ValueError, TypeError)) or checkify_error) and _names_it(str(exc), param):
    return "clear"
  return "unclear"


def probe_api(verbose: bool) -> dict:
  import jax
  import jax.numpy as jnp
  from jax.experimental import checkify

  import asgl_jax

  counts = {"clear": 0, "unclear": 0, "silent": 0}
  plain = {"clear": 0, "unclear": 0, "silent": 0}
  rows = []
  for entry, (fn, params) in _api_entries().items():
    for param, bads in _bad_values().items():
      if param not in params:
        continue
      for label, value, traceable in bads:
        overrides = {param: value}
        if param == "key" and value is None:
          overrides["p"] = 0.5

        def run(fn=fn, params=params, overrides=overrides):
          out = fn(**overrides)
          x = jnp.asarray(out)
          jax.block_until_ready(x)
          src = "currents" if "currents" in params else "u"
          if jnp.issubdtype(x.dtype, jnp.floating) and src not in overrides:
            # the gradient too: some inputs fail only there
            loss = lambda v: jnp.sum(jnp.asarray(fn(**{**overrides, src: v}), jnp.float32))  # noqa: E731
            jax.block_until_ready(jax.grad(loss)(_api_default(src)))

        exc = None
        try:
          run()
        except Exception as e:
          exc = e
        outcome = _classify(exc, param)
        rows.append((entry, f"{param} = {label}", "eager", outcome, _short(exc)))
        counts[outcome] += 1
        if traceable:
          exc = None
          try:
            with asgl_jax.runtime_checks():
              jitted = jax.jit(lambda v, fn=fn, param=param: fn(**{param: v}))
              err, _ = checkify.checkify(jitted)(jnp.float32(value))
            err.throw()
          except Exception as e:
            exc = e
          outcome = _classify(exc, param)
          # the same call traced without runtime_checks: unchecked by design (documented)
          try:
            jax.block_until_ready(
              jax.jit(lambda v, fn=fn, param=param: fn(**{param: v}))(jnp.float32(value))
            )
            plain[_classify(None, param)] += 1
          except Exception as e:
            plain[_classify(e, param)] += 1
          rows.append((entry, f"{param} = {label}", "jit + runtime_checks", outcome, _short(exc)))
          counts[outcome] += 1
  _print_rows("api", rows, verbose, ("entry", "argument", "how", "outcome", "message"))
  return {
    "part": "api",
    "cases": len(rows),
    **counts,
    "traced_without_runtime_checks": plain,
  }


def _api_default(name):
  import jax.numpy as jnp

  return {"u": jnp.linspace(-1.0, 1.0, 8).reshape(2, 4), "currents": jnp.full((3, 2, 4), 0.7)}[name]


def _short(exc) -> str:
  if exc is None:
    return ""
  line = (str(exc).strip().splitlines() or [""])[0]
  return f"{type(exc).__name__}: {line[:110]}"


def _print_rows(part, rows, verbose, header):
  if not verbose:
    return
  print(f"\n### {part}\n")
  print("| " + " | ".join(header) + " |")
  print("|" + "---|" * len(header))
  for r in rows:
    print("| " + " | ".join(str(c).replace("|", "/") for c in r) + " |")


# ----------------------------------------------------------------------------- files


def _file_cases(root: str):
  """``(name, reader, path writer)`` of crafted files; the reader raises or returns."""
  import numpy as np

  from asgl_jax.data import aedat, events, spike_trains, testing

  def raw(content):
    return lambda p: open(p, "wb").write(content)

  png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
  rnd = np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes()
  header2 = b"#!AER-DAT2.0\r\n# This is a raw AE data file\r\n"

  def aedat2_events(x, y, p, t):
    return lambda path: testing.write_aedat2(path, x, y, p, t)

  read2 = aedat.read_aedat2_cifar10dvs
  read31 = aedat.read_aedat31_polarity
  cases = [
    ("aedat2: empty file", read2, raw(b"")),
    ("aedat2: random bytes", read2, raw(rnd)),
    ("aedat2: a PNG", read2, raw(png)),
    ("aedat2: header only", read2, raw(header2)),
    (
      "aedat2: body not whole events",
      read2,
      lambda p: (aedat2_events([1], [2], [0], [5])(p), open(p, "ab").write(b"\x00\x01\x02")),
    ),
    ("aedat2: AEDAT 3.1 file", read2, lambda p: testing.write_aedat31(p, [1], [2], [0], [5])),
    (
      "aedat2: timestamps going back",
      read2,
      aedat2_events([1, 2, 3], [2, 3, 4], [0, 1, 0], [50, 10, 5]),
    ),
    ("aedat2: a text file", read2, raw(b"hello, world\n" * 100)),
    ("aedat31: empty file", read31, raw(b"")),
    ("aedat31: random bytes", read31, raw(rnd)),
    ("aedat31: a PNG", read31, raw(png)),
    ("aedat31: header without end", read31, raw(b"#!AER-DAT3.1\r\n#Format: RAW\r\n")),
    (
      "aedat31: x = 200 (sensor is 128)",
      read31,
      lambda p: testing.write_aedat31(p, [200], [3], [0], [5]),
    ),
    ("aedat31: y = 32767", read31, lambda p: testing.write_aedat31(p, [3], [32767], [0], [5])),
    (
      "aedat31: truncated packet",
      read31,
      lambda p: (
        testing.write_aedat31(p, [1, 2, 3], [1, 2, 3], [0, 1, 0], [1, 2, 3]),
        _truncate(p, 12),
      ),
    ),
    ("aedat31: AEDAT 2.0 file", read31, aedat2_events([1], [2], [0], [5])),
    ("aedat31: packet size field 0", read31, lambda p: _aedat31_bad_size(p, testing)),
  ]

  def gesture_with(row):
    def write(p):
      testing.write_gesture(os.path.dirname(p), users_train=(1,), users_test=(2,))
      with open(os.path.join(os.path.dirname(p), "user01_fluorescent_labels.csv"), "w") as f:
        f.write("class,startTime_usec,endTime_usec\n" + row + "\n")

    return write

  def load_gesture(p):
    return events.load_dvs_gesture(os.path.dirname(p), num_frames=2, frame_ms=10.0, frame_size=32)

  for row, what in (
    ("0,10000,200000", "class 0"),
    ("12,10000,200000", "class 12"),
    ("-1,10000,200000", "class -1"),
    ("3,200000,10000", "end before start"),
    ("three,10,20", "non-numeric class"),
    ("3,10000", "a missing column"),
    ("3,-5,200000", "negative time"),
  ):
    cases.append((f"gesture labels: {what}", load_gesture, gesture_with(row)))

  h5 = []

  def shd(mutate):
    def write(p):
      import h5py

      testing.write_shd(p, 6, 0)
      testing.write_shd(os.path.join(os.path.dirname(p), "shd_test.h5"), 6, 1)
      with h5py.File(p, "a") as f:
        mutate(f, h5py)

    return write

  def shd_raw(content):
    def write(p):
      open(p, "wb").write(content)
      testing.write_shd(os.path.join(os.path.dirname(p), "shd_test.h5"), 6, 1)

    return write

  def set_labels(values):
    def m(f, h5py):
      del f["labels"]
      f.create_dataset("labels", data=np.asarray(values))

    return m

  def set_first(times, units):
    def m(f, h5py):
      f["spikes/times"][0] = np.asarray(times, np.float16)
      f["spikes/units"][0] = np.asarray(units, np.uint16)

    return m

  def drop(key):
    def m(f, h5py):
      del f[key]

    return m

  h5 += [
    ("shd: label 20 (20 classes)", shd(set_labels([20, 1, 2, 3, 4, 5]))),
    ("shd: label -1", shd(set_labels([-1, 1, 2, 3, 4, 5]))),
    ("shd: label 1e9", shd(set_labels([10**9, 1, 2, 3, 4, 5]))),
    ("shd: float labels", shd(set_labels([0.5, 1, 2, 3, 4, 5]))),
    ("shd: fewer labels than examples", shd(set_labels([1, 2, 3]))),
    ("shd: unit 700 (700 channels)", shd(set_first([0.1, 0.2], [700, 1]))),
    ("shd: negative time", shd(set_first([-0.5, 0.1], [1, 2]))),
    ("shd: NaN time", shd(set_first([np.nan, 0.1], [1, 2]))),
    ("shd: times and units of different lengths", shd(set_first([0.1, 0.2, 0.3], [1, 2]))),
    ("shd: no labels", shd(drop("labels"))),
    ("shd: no spikes/units", shd(drop("spikes/units"))),
  ]

  def load_shd(p):
    return spike_trains.load_shd(os.path.dirname(p), num_steps=10, download=False)

  cases += [(n, load_shd, w) for n, w in h5]
  cases += [
    ("shd: random bytes", load_shd, shd_raw(rnd)),
    ("shd: empty file", load_shd, shd_raw(b"")),
  ]
  return cases


def _truncate(path, n):
  with open(path, "r+b") as f:
    f.seek(0, 2)
    f.truncate(f.tell() - n)


def _aedat31_bad_size(path, testing):
  import struct

  testing.write_aedat31(path, [1, 2], [1, 2], [0, 1], [1, 2])
  data = bytearray(open(path, "rb").read())
  end = data.index(b"#!END-HEADER\r\n") + len(b"#!END-HEADER\r\n")
  second = end + 28 + 8  # the special-event packet, then the polarity packet's header
  data[second + 4 : second + 8] = struct.pack("<i", 0)
  open(path, "wb").write(bytes(data))


def probe_files(verbose: bool) -> dict:
  counts = {"rejected": 0, "unclear": 0, "accepted": 0}
  rows = []
  with tempfile.TemporaryDirectory() as tmp:
    for i, (name, reader, write) in enumerate(_file_cases(tmp)):
      folder = os.path.join(tmp, f"case{i}")
      os.makedirs(folder)
      fname = "shd_train.h5" if name.startswith("shd") else "user01_fluorescent.aedat"
      path = os.path.join(folder, fname)
      exc = None
      try:
        write(path)
        reader(path)
      except Exception as e:
        exc = e
      names = [folder, *os.listdir(folder)]  # the message must say which file
      if exc is None:
        outcome = "accepted"
      elif isinstance(exc, (ValueError, TypeError, OSError)) and any(n in str(exc) for n in names):
        outcome = "rejected"
      else:
        outcome = "unclear"
      counts[outcome] += 1
      rows.append((name, outcome, _short(exc)))
  _print_rows("files", rows, verbose, ("file", "outcome", "message"))
  return {"part": "files", "cases": len(rows), **counts}


# ----------------------------------------------------------------------------- runs

MAIN = [sys.executable, "-m", "experiments.mnist", "--config=experiments/configs/mnist.py"]


def _run_args(workdir: str, extra=()) -> list[str]:
  return [
    *MAIN,
    f"--workdir={workdir}",
    "--config.num_epochs=2",
    *extra,
  ]


def _env():
  return {**os.environ, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "2", "JAX_PLATFORMS": "cpu"}


def _final(workdir: str):
  """``(newest step, CRC-32 of every array it holds)`` from the run's checkpoint record."""
  with open(os.path.join(workdir, "checkpoints.crc.json")) as f:
    crcs = {int(k): v for k, v in json.load(f).items()}
  step = max(crcs)
  return step, crcs[step]


def _run(args, timeout=900):
  """Runs a main to its end: the CompletedProcess, its output captured as text."""
  return subprocess.run(args, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=timeout)


def _start(args, log):
  return subprocess.Popen(
    args, cwd=ROOT, env=_env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
  )


def probe_kills(n: int, verbose: bool, reference_s: float | None = None) -> dict:
  rows = []
  with tempfile.TemporaryDirectory() as tmp:
    ref = os.path.join(tmp, "ref")
    t0 = time.perf_counter()
    _run(_run_args(ref)).check_returncode()
    total = reference_s or (time.perf_counter() - t0)
    want = _final(ref)
    exact = 0
    for i in range(n):
      at = total * (i + 0.5) / n  # spread over the whole run, imports to the last write
      wd = os.path.join(tmp, f"kill{i}")
      with open(os.path.join(tmp, f"kill{i}.log"), "w") as log:
        proc = _start(_run_args(wd), log)
        try:
          proc.wait(timeout=at)
          killed = False
        except subprocess.TimeoutExpired:
          os.killpg(proc.pid, signal.SIGKILL)
          proc.wait()
          killed = True
      r = _run(_run_args(wd))
      ok = r.returncode == 0 and _final(wd) == want
      exact += ok
      note = "" if r.returncode == 0 else (r.stderr.strip().splitlines() or ["?"])[-1][:100]
      rows.append(
        (f"{at:.1f} s", "killed" if killed else "had finished", "exact" if ok else "differs", note)
      )
  _print_rows("kills", rows, verbose, ("kill at", "run", "resumed", "note"))
  return {"part": "kills", "cases": n, "exact": exact, "not_exact": n - exact, "run_s": total}


def _corruptions():
  """``name: function(workdir, newest checkpoint dir)`` damaging the newest checkpoint."""
  import glob
  import random

  def files(ckpt):
    return sorted(
      f for f in glob.glob(os.path.join(ckpt, "**", "*"), recursive=True) if os.path.isfile(f)
    )

  def biggest(ckpt):
    return max(files(ckpt), key=os.path.getsize)

  def flip(ckpt, where):
    f = biggest(ckpt)
    data = bytearray(open(f, "rb").read())
    i = {"middle": len(data) // 2, "start": 0, "end": len(data) - 1}[where]
    data[i] ^= 0xFF
    open(f, "wb").write(bytes(data))

  def truncate_all(ckpt):
    for f in files(ckpt):
      open(f, "r+b").truncate(os.path.getsize(f) // 2)

  def empty_all(ckpt):
    for f in files(ckpt):
      open(f, "wb").close()

  def delete_metadata(ckpt):
    for f in files(ckpt):
      if "metadata" in os.path.basename(f).lower():
        os.remove(f)

  def garbage_json(ckpt):
    for f in files(ckpt):
      if f.endswith(".json") or "metadata" in os.path.basename(f).lower():
        open(f, "w").write("{not json")

  def random_bytes(ckpt):
    rnd = random.Random(0)
    for f in files(ckpt):
      n = os.path.getsize(f)
      open(f, "wb").write(bytes(rnd.randrange(256) for _ in range(n)))

  def remove_dir(ckpt):
    import shutil

    shutil.rmtree(ckpt)
    os.makedirs(ckpt)

  def stray(workdir, name):
    os.makedirs(os.path.join(_ckpt_root(workdir), name))

  return {
    "byte flipped in the middle of the largest file": lambda w, c: flip(c, "middle"),
    "byte flipped at the start of the largest file": lambda w, c: flip(c, "start"),
    "byte flipped at the end of the largest file": lambda w, c: flip(c, "end"),
    "every file cut in half": lambda w, c: truncate_all(c),
    "every file emptied": lambda w, c: empty_all(c),
    "metadata files deleted": lambda w, c: delete_metadata(c),
    "metadata replaced by garbage": lambda w, c: garbage_json(c),
    "every file random bytes": lambda w, c: random_bytes(c),
    "newest step directory emptied": lambda w, c: remove_dir(c),
    "stray empty directory 999": lambda w, c: stray(w, "999"),
    "stray directory 'notes'": lambda w, c: stray(w, "notes"),
  }


def _ckpt_root(workdir):
  return os.path.join(workdir, "checkpoints")


def _newest_step_dir(workdir):
  root = _ckpt_root(workdir)
  steps = sorted((int(d), d) for d in os.listdir(root) if d.isdigit())
  return os.path.join(root, steps[-1][1])


def probe_checkpoints(verbose: bool) -> dict:
  import shutil

  rows = []
  recovered = 0
  with tempfile.TemporaryDirectory() as tmp:
    base = os.path.join(tmp, "base")
    _run(_run_args(base)).check_returncode()
    for i, (name, damage) in enumerate(_corruptions().items()):
      wd = os.path.join(tmp, f"c{i}")
      shutil.copytree(base, wd)
      damage(wd, _newest_step_dir(wd))
      # one more epoch than the run had: the resume must read a checkpoint to continue
      r = _run(_run_args(wd, ["--config.num_epochs=3"]))
      ok = r.returncode == 0
      recovered += ok
      lines = [
        ln
        for ln in (r.stdout + r.stderr).splitlines()
        if ln.startswith(("asgl_jax: skipping", "asgl_jax: moved", "Resuming"))
      ]
      note = " / ".join(ln[:100] for ln in lines[:2]) or (r.stderr.strip().splitlines() or [""])[-1]
      rows.append((name, "recovered" if ok else "failed", note))
  _print_rows("checkpoints", rows, verbose, ("damage", "outcome", "what the run said"))
  return {
    "part": "checkpoints",
    "cases": len(rows),
    "recovered": recovered,
    "failed": len(rows) - recovered,
  }


def probe_concurrency(verbose: bool) -> dict:
  rows = []
  with tempfile.TemporaryDirectory() as tmp:
    # 1: two runs with different seeds on one workdir
    wd = os.path.join(tmp, "two")
    with open(os.path.join(tmp, "a.log"), "w") as la:
      a = _start(_run_args(wd, ["--config.seed=0", "--config.num_epochs=8"]), la)
      time.sleep(15)
      b = _run(_run_args(wd, ["--config.seed=1"]))
      a.wait(timeout=900)
    msg = (b.stderr.strip().splitlines() or [""])[-1]
    ok = a.returncode == 0 and b.returncode != 0 and "workdir" in msg.lower()
    rows.append(("second run on a busy workdir", "handled" if ok else "not handled", msg[:120]))
    # 2: a killed run's lock does not block the next run
    wd = os.path.join(tmp, "stale")
    with open(os.path.join(tmp, "k.log"), "w") as lk:
      k = _start(_run_args(wd), lk)
      time.sleep(12)
      os.killpg(k.pid, signal.SIGKILL)
      k.wait()
    r = _run(_run_args(wd))
    rows.append(
      (
        "run after a killed run's lock",
        "handled" if r.returncode == 0 else "not handled",
        (r.stderr.strip().splitlines() or [""])[-1][:120],
      )
    )
    # 3: a resume started while the first run still trains
    wd = os.path.join(tmp, "resume")
    longer = ["--config.num_epochs=8"]  # still training when the second process starts
    with open(os.path.join(tmp, "r.log"), "w") as lr:
      a = _start(_run_args(wd, longer), lr)
      time.sleep(20)
      b = _run(_run_args(wd, longer))
      still_running = a.poll() is None
      a.wait(timeout=900)
    msg = (b.stderr.strip().splitlines() or [""])[-1]
    ok = still_running and a.returncode == 0 and b.returncode != 0 and "workdir" in msg.lower()
    metrics = os.path.join(wd, "metrics.jsonl")
    if ok and os.path.exists(metrics):
      with open(metrics) as f:
        ok = all(json.loads(line) is not None for line in f)  # one writer: every line whole
    rows.append(
      ("resume while the run still trains", "handled" if ok else "not handled", msg[:120])
    )
  handled = sum(r[1] == "handled" for r in rows)
  _print_rows("concurrency", rows, verbose, ("scenario", "outcome", "what the second process said"))
  return {
    "part": "concurrency",
    "cases": len(rows),
    "handled": handled,
    "not_handled": len(rows) - handled,
  }


def main() -> None:
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--parts", default="api,files,checkpoints,kills,concurrency")
  ap.add_argument("--kills", type=int, default=16, help="kill points")
  ap.add_argument("--quiet", action="store_true", help="only the summary lines")
  args = ap.parse_args()
  parts = [p for p in args.parts.split(",") if p]
  known = ("api", "files", "checkpoints", "kills", "concurrency")
  if set(parts) - set(known):
    ap.error(f"--parts: choose from {', '.join(known)}")
  sys.path.insert(0, ROOT)
  os.chdir(ROOT)
  results = []
  for part in parts:
    t0 = time.perf_counter()
    with (
      contextlib.redirect_stderr(open(os.devnull, "w")) if args.quiet else contextlib.nullcontext()
    ):
      if part == "api":
        r = probe_api(not args.quiet)
      elif part == "files":
        r = probe_files(not args.quiet)
      elif part == "checkpoints":
        r = probe_checkpoints(not args.quiet)
      elif part == "kills":
        r = probe_kills(args.kills, not args.quiet)
      else:
        r = probe_concurrency(not args.quiet)
    r["seconds"] = round(time.perf_counter() - t0, 1)
    print(f"{part}: " + ", ".join(f"{k} {v}" for k, v in r.items() if k != "part"), flush=True)
    results.append(r)
  for r in results:
    print(json.dumps(r))


if __name__ == "__main__":
  main()

"""Progress output as a terminal shows it: a pseudo-terminal of 80 and 200 columns."""

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

# What the loop does: a bar over 300 steps with long metrics, and a summary line every epoch.
DRIVER = """
from asgl_jax.train import reporting
bar = reporting.ProgressBar(300, every=50)
for step in range(1, 301):
  bar.update(step, "loss 0.1234 accuracy 0.9876 firing_rate 0.1111 width 0.5000 p 0.8000 x 1.0")
  if step % 100 == 0:
    bar.write(f"epoch {step // 100}/3 step {step}: loss 0.1234 val SNN accuracy 0.9800 "
              "noisy 0.9790 p 0.800")
bar.close()
"""


def _run_under_pty(columns: int) -> str:
  master, slave = pty.openpty()
  fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
  env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
  proc = subprocess.Popen(
    [sys.executable, "-c", DRIVER],
    stdin=slave,
    stdout=slave,
    stderr=slave,
    cwd=ROOT,
    env=dict(env, PYTHONPATH=ROOT),
    close_fds=True,
  )
  os.close(slave)
  out = b""
  try:
    while select.select([master], [], [], 60)[0]:
      try:
        chunk = os.read(master, 65536)
      except OSError:  # EIO: the child closed the terminal
        break
      if not chunk:
        break
      out += chunk
  finally:
    os.close(master)
    proc.wait(timeout=60)
  assert proc.returncode == 0, out.decode(errors="replace")[-2000:]
  return out.decode()


@pytest.mark.parametrize("columns", [80, 200])
def test_bar_fits_the_terminal_and_epoch_lines_stand_alone(columns):
  out = _run_under_pty(columns).replace("\r\n", "\n")  # the pty turns \n into \r\n
  lines = out.split("\n")
  for line in lines:
    for segment in line.split("\r"):
      assert len(ANSI.sub("", segment)) <= columns, segment  # nothing wraps onto a new line
  shown = [ANSI.sub("", ln.split("\r")[-1]).rstrip() for ln in lines if ln.strip()]
  epochs = [ln for ln in shown if "epoch" in ln]
  assert epochs == [
    f"epoch {e}/3 step {100 * e}: loss 0.1234 val SNN accuracy 0.9800 noisy 0.9790 p 0.800"
    for e in (1, 2, 3)
  ]
  # the bar finishes at step 300, before the last summary is written
  assert len(shown) == 4 and "300/300" in shown[2] and "loss 0.1234" in shown[2]

"""The experiment mains (``python -m experiments.<name>``) and their configs."""

import signal
import sys

if sys.argv[:1] == ["-m"]:  # `python -m experiments.<main>`, while its imports run

  def _interrupted_at_start(signum, frame):
    del signum, frame
    print("experiments: interrupted while starting; nothing was written", file=sys.stderr)
    raise SystemExit(130)

  signal.signal(signal.SIGINT, _interrupted_at_start)

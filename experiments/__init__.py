"""The experiment mains (``python -m experiments.<name>``) and their configs."""

import os
import signal
import sys

if sys.argv[:1] == ["-m"]:  # `python -m experiments.<main>`, while its imports run

  def _interrupted_at_start(signum, frame):
    # Nothing is open yet, and an exception could be swallowed by an import hook: exit now.
    del signum, frame
    sys.stderr.write("experiments: interrupted while starting; nothing was written\n")
    sys.stderr.flush()
    os._exit(130)

  signal.signal(signal.SIGINT, _interrupted_at_start)

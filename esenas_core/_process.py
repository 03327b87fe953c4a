"""Settings of the process, made before esenas imports anything else (esenas_core/__init__.py
imports this module first)."""

import os
import signal
import sys

_argv = getattr(sys, "orig_argv", sys.argv)
# This process is the `esenas` command itself (the console script or `python -m`), not a library
# user or a test runner that calls the CLI in-process.
IS_COMMAND = os.path.basename(_argv[1] if len(_argv) > 1 else "") == "esenas" or (
    "-m" in _argv and _argv[_argv.index("-m") + 1 :][:1] == ["esenas_core.cli.main"]
)
if IS_COMMAND:
    # The `esenas` command, still importing: a Ctrl-C now exits with one line, no traceback
    # (the command line installs its own handler once it runs: esenas_core.engine.interrupts).
    def _interrupted_while_starting(signum: int, frame: object) -> None:
        os.write(2, b"esenas: interrupted\n")
        os._exit(130)

    signal.signal(signal.SIGINT, _interrupted_while_starting)

if "--multiprocessing-fork" in _argv:
    # A process-pool or dask worker process (spawned; it imports esenas_core while it starts).
    # Ctrl-C in a terminal reaches the whole process group: the driver stops its workers, and
    # no worker prints a KeyboardInterrupt traceback of its own (the command line also starts
    # them with SIGINT ignored: esenas_core.engine.interrupts).
    signal.signal(signal.SIGINT, signal.SIG_IGN)

# numba would replace loops of math.exp/sin/… by Intel's SVML vector routines (other last bits
# than the C library) where the icc_rt package is installed: esenas' kernels never use one
# (docs/algorithm.md#determinism). Set before anything imports numba.
os.environ.setdefault("NUMBA_DISABLE_INTEL_SVML", "1")

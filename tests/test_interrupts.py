"""A Ctrl-C that Python swallows (raised inside a finalizer) still stops the run."""

from __future__ import annotations

import gc
import os
import signal
import sys

import pytest

from esenas_core.engine import interrupts

pytestmark = pytest.mark.slow  # subprocesses, worker pools, dask or MuJoCo: `make test` only


class _SignalsInDel:
    def __del__(self) -> None:
        os.kill(os.getpid(), signal.SIGINT)  # the handler runs here, inside the finalizer


@pytest.fixture
def installed():
    handler, hook = signal.getsignal(signal.SIGINT), sys.unraisablehook
    interrupts.install()
    yield
    signal.signal(signal.SIGINT, handler)
    sys.unraisablehook = hook
    interrupts.reset()


def test_interrupt_swallowed_by_a_finalizer_is_raised_at_check(installed, capsys) -> None:
    interrupts.check()  # nothing pending: no-op
    obj = _SignalsInDel()
    del obj  # KeyboardInterrupt raised in __del__, which Python swallows
    gc.collect()
    with pytest.raises(KeyboardInterrupt):
        interrupts.check()
    assert "Traceback" not in capsys.readouterr().err  # no "Exception ignored" noise


def test_install_twice_wraps_the_hook_once(installed) -> None:
    hook = sys.unraisablehook
    interrupts.install()
    assert sys.unraisablehook is hook


# -- the command line: Ctrl-C to the whole process group, as a terminal sends it ---------------

# What a shell reports as status 130: exit status 130, or ended by SIGINT (Python's own way to
# end on an unhandled KeyboardInterrupt, the Unix convention that lets a calling shell loop stop).
INTERRUPTED = (130, -signal.SIGINT)


def _interrupt(args: list[str], after: float) -> tuple[int, str, float, list[int]]:
    import subprocess
    import time

    import psutil
    from conftest import ESENAS, REPO, cli_env

    proc = subprocess.Popen(
        [*ESENAS, *args], cwd=REPO, env=cli_env(ESENAS_PLUGINS="esenas_test_plugins"),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    time.sleep(after)
    children = [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
    sent = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    took = time.monotonic() - sent
    time.sleep(1.0)
    alive = [pid for pid in children if psutil.pid_exists(pid) and
             psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]  # fmt: skip
    return proc.returncode, err, took, alive


def _config(tmp_path, backend: str, failure: str = "raise") -> str:
    import tomli_w
    from conftest import small_config

    data = small_config(
        iterations=400,
        backend={"name": backend, **({} if backend == "serial" else {"workers": 2})},
        task={"name": "flaky", "fail_mod": 3 if failure == "swallow" else 10**9,
              "failure": failure, "sleep_s": 0.05},
        es={"min_valid_fraction": 0.1},
    )  # fmt: skip
    path = tmp_path / f"{backend}-{failure}.toml"
    path.write_text(tomli_w.dumps(data))
    return str(path)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("backend", "after"),  # while importing, starting workers, running
    [("serial", 1.5), ("processes", 0.3), ("processes", 1.5), ("processes", 6.0),
     ("dask", 1.5), ("dask", 6.0)],
)  # fmt: skip
def test_ctrl_c_ends_a_run_with_one_line(tmp_path, backend: str, after: float) -> None:
    config = _config(tmp_path, backend)
    rc, err, took, alive = _interrupt(
        ["run", config, "--quiet", "--run-dir", str(tmp_path / "run")], after
    )
    assert rc in INTERRUPTED, (rc, err)
    assert err.count("\n") == 1 and err.startswith("esenas: interrupted"), err
    assert took < 15, took  # GRACE_S = 3 s; measured 0.05–0.6 s, margin for a loaded machine
    assert not alive, alive


@pytest.mark.slow
def test_ctrl_c_ends_a_command_that_swallows_it(tmp_path) -> None:
    """A rollout that eats KeyboardInterrupt (serial backend: in the driver itself): the
    watchdog prints the line, kills the children and exits 130."""
    config = _config(tmp_path, "serial", failure="swallow")
    rc, err, took, _ = _interrupt(["run", config, "--quiet", "--run-dir", str(tmp_path / "r")], 4.0)
    assert rc in INTERRUPTED and err.count("\n") == 1 and err.startswith("esenas: interrupted"), err
    assert took < 3.0 + 10, took

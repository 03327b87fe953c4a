"""A Ctrl-C that Python swallows (raised inside a finalizer) still stops the run."""

from __future__ import annotations

import gc
import os
import signal
import sys

import pytest

from esenas_core.engine import interrupts


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

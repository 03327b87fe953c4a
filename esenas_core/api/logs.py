"""The ``esenas`` logger: messages for the run's log file (``RUN_DIR/esenas.log``), not the
terminal. Third-party noise — MuJoCo's deprecation notices, printed each time an environment is
built — goes here once per process through ``log_once``."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

LOGGER = logging.getLogger("esenas")
LOGGER.addHandler(logging.NullHandler())  # nothing reaches the terminal by default
LOGGER.propagate = False

_seen: dict[str, None] = {}  # messages logged in this process, in order


def log_once(source: str, message: str) -> None:
    """Log a warning from ``source`` (e.g. ``"mujoco"``) the first time this process sees it."""
    text = f"{source}: {' '.join(str(message).split())}"
    if text not in _seen:
        _seen[text] = None
        LOGGER.warning(text)


@contextlib.contextmanager
def log_to(path: Path) -> Iterator[None]:
    """Append the ``esenas`` logger's messages to ``path`` while the block runs, starting with
    those this process logged before (while the run was being built)."""
    handler = logging.FileHandler(path, encoding="utf-8", delay=True)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    for text in _seen:
        record = {"msg": text, "levelno": logging.WARNING, "levelname": "WARNING"}
        handler.handle(logging.makeLogRecord({**record, "name": "esenas"}))
    LOGGER.addHandler(handler)
    try:
        yield
    finally:
        LOGGER.removeHandler(handler)
        handler.close()

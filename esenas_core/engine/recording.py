"""What the trainer tells the outside world as a run goes, as a protocol: the engine does not
know the disk layout. ``esenas_core.runs.recorder.FolderRecorder`` writes a run folder;
``MemoryRecorder`` (here) keeps nothing, for in-memory runs."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from esenas_core.engine.state import Best, RunState


class Recorder(Protocol):
    """Where a run's rows, best and final policy and checkpoints go."""

    #: what hooks get as ``run_dir`` ("" for a run with no folder)
    location: str

    def session(self, iteration: Callable[[], int]) -> contextlib.AbstractContextManager[Any]:
        """Entered for the whole of ``Trainer.train`` (e.g. a log file, write-error handling)."""
        ...

    def metrics(self, row: Mapping[str, Any]) -> None: ...

    def evaluations(self, rows: Sequence[Mapping[str, Any]]) -> None: ...

    def best(self, best: Best) -> None: ...

    def final(self, theta: np.ndarray, obs_mean: np.ndarray, obs_std: np.ndarray) -> None: ...

    def checkpoint(self, state: RunState) -> None: ...

    def last_checkpoint(self) -> tuple[RunState, str]:
        """The last checkpoint's state and where it was read (for ``Trainer.resume``)."""
        ...

    def discard_after(self, iteration: int) -> None:
        """Forget rows recorded after ``iteration`` (a resumed run writes them again)."""
        ...


class MemoryRecorder:
    """Records nothing: the trainer's ``history`` holds the rows."""

    location = ""

    @contextlib.contextmanager
    def session(self, iteration: Callable[[], int]) -> Iterator[None]:
        yield

    def metrics(self, row: Mapping[str, Any]) -> None:
        pass

    def evaluations(self, rows: Sequence[Mapping[str, Any]]) -> None:
        pass

    def best(self, best: Best) -> None:
        pass

    def final(self, theta: np.ndarray, obs_mean: np.ndarray, obs_std: np.ndarray) -> None:
        pass

    def checkpoint(self, state: RunState) -> None:
        pass

    def last_checkpoint(self) -> tuple[RunState, str]:
        raise ValueError("resume needs a recorder that keeps checkpoints (a run folder)")

    def discard_after(self, iteration: int) -> None:
        pass

"""``FolderRecorder``: the trainer's ``Recorder`` (esenas_core.engine.recording) for a run
folder — metrics rows, exact evaluations, ``best/``, ``final/``, checkpoints, the log file."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from esenas_core.api.interfaces import SearchSpace
from esenas_core.api.logs import log_to
from esenas_core.engine.runconfig import RunConfig
from esenas_core.engine.state import Best, RunState
from esenas_core.runs import checkpoint
from esenas_core.runs.rundir import RunDirectory


class FolderRecorder:
    """Writes a run's files into ``run_dir``."""

    def __init__(self, run_dir: RunDirectory, cfg: RunConfig, space: SearchSpace) -> None:
        self.run_dir, self.cfg, self.space = run_dir, cfg, space
        self.location = str(run_dir.path)

    @contextlib.contextmanager
    def session(self, iteration: Callable[[], int]) -> Iterator[None]:
        with self.run_dir.stop_on_write_errors(iteration), log_to(self.run_dir.path / "esenas.log"):
            yield

    def metrics(self, row: Mapping[str, Any]) -> None:
        self.run_dir.append_metrics(row)

    def evaluations(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Rows of evaluations.csv: every finished exact evaluation (the Pareto front's input)."""
        if rows:
            self.run_dir.append_evaluations(list(rows))

    def best(self, best: Best) -> None:
        """best/architecture.json + best/weights.npz: enough to replay the best policy."""
        if best.architecture is None:
            return
        arch = best.architecture
        self.run_dir.write_unit(
            "best",
            {"weights.npz": best.arrays()},
            {
                "architecture.json": {
                    "score": best.score,
                    "objective": best.objective,
                    "iteration": best.iteration,
                    "env_seed": best.env_seed,
                    "search_space": self.cfg.search_space.to_dict(),
                    "task": self.cfg.task.to_dict(),
                    "architecture": arch.to_json(),
                    "size": self.space.describe(arch),
                }
            },
        )

    def final(self, theta: np.ndarray, obs_mean: np.ndarray, obs_std: np.ndarray) -> None:
        """final/weights.npz: θ and the observation normalization after the last iteration."""
        self.run_dir.write_weights(
            "final", "weights.npz", theta=theta, obs_mean=obs_mean, obs_std=obs_std
        )

    def checkpoint(self, state: RunState) -> None:
        checkpoint.save(state, self.run_dir.path, self.cfg.controller.name)

    def last_checkpoint(self) -> tuple[RunState, str]:
        return checkpoint.load(self.run_dir.path), f"{self.run_dir.path}/checkpoint"

    def discard_after(self, iteration: int) -> None:
        """Drop metrics and evaluation rows after ``iteration`` (the checkpoint resumed)."""
        self.run_dir.truncate_metrics(iteration)
        self.run_dir.truncate_evaluations(iteration)

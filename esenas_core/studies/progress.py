"""What the study executors share: restart limits, the progress bar, and how a finished or
failed run is recorded."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs

from esenas_core.runs.checkpoint import checkpoint_iteration
from esenas_core.studies.identity import RunDecision

MAX_RESTARTS = 3
POLL_S = 0.25


@attrs.define
class Tally:
    """What happened to each run this time: finished (with its summary) or failed (why)."""

    finished: dict[Path, dict[str, Any]] = attrs.field(factory=dict)
    failed: dict[Path, str] = attrs.field(factory=dict)


class Progress:
    """One tqdm bar over all iterations of the study; lines printed above it."""

    def __init__(self, states: Sequence[RunDecision], log: Callable[[str], None], quiet: bool):
        from tqdm import tqdm

        self.log_fn = log
        self.at = {  # iterations each run has recorded
            s.run.run_dir: s.run.config.iterations if s.action == "reuse" else s.done
            for s in states
        }
        self.bar = tqdm(
            total=sum(s.run.config.iterations for s in states),
            initial=sum(self.at.values()),
            disable=quiet,
            unit="it",
            dynamic_ncols=True,
            file=sys.stderr,
            desc="study",
        )
        self.count = len(states)
        self.printed = 0
        self.read: dict[Path, tuple[int, int]] = {}  # metrics.csv → (bytes read, newlines)

    def line(self, state: RunDecision, text: str, counts: bool = True) -> None:
        self.printed += counts
        number = f"[{self.printed}/{self.count}] " if counts else ""
        message = f"{number}{state.run.label}: {text}"
        if self.bar.disable:
            self.log_fn(message)
        else:
            self.bar.write(message, file=sys.stdout)

    def set(self, run_dir: Path, iterations: int) -> None:
        self.at[run_dir] = iterations
        n = min(sum(self.at.values()), self.bar.total)
        if n != self.bar.n:
            self.bar.n = n
            self.bar.refresh()

    def poll(self, states: Sequence[RunDecision]) -> None:
        for s in states:
            rows = self._rows(s.run.run_dir / "metrics.csv")
            self.set(s.run.run_dir, min(rows, s.run.config.iterations))

    def _rows(self, path: Path) -> int:
        """Rows of a growing metrics.csv, reading only what was appended since the last poll
        (from the start again if the file shrank: a resume truncates it)."""
        offset, lines = self.read.get(path, (0, 0))
        try:
            with open(path, "rb") as fh:
                if fh.seek(0, os.SEEK_END) < offset:
                    offset, lines = 0, 0
                fh.seek(offset)
                chunk = fh.read()
        except OSError:
            return 0
        self.read[path] = (offset + len(chunk), lines + chunk.count(b"\n"))
        return max(0, self.read[path][1] - 1)

    def close(self) -> None:
        self.bar.close()


def finished_text(state: RunDecision, summary: dict[str, Any]) -> str:
    def num(x: Any) -> str:
        return "n/a" if x is None or x != x else f"{x:.2f}"

    how = {
        "resume": f"resumed at iteration {state.done + 1}, ",
        "extend": f"extended {state.done} → {state.run.config.iterations} iterations, ",
    }.get(state.action, "")
    return (
        f"{how}final {num(summary['final_score'])}, best {num(summary['best_score'])},"
        f" {summary['wall_time']:.1f} s"
    )


def record_run(progress: Progress, tally: Tally, s: RunDecision, summary: dict[str, Any]) -> None:
    tally.finished[s.run.run_dir] = summary
    progress.set(s.run.run_dir, s.run.config.iterations)
    progress.line(s, finished_text(s, summary))


def fail_run(progress: Progress, tally: Tally, s: RunDecision, why: str) -> None:
    tally.failed[s.run.run_dir] = why
    progress.line(s, f"FAILED: {why}")


def resubmitted(s: RunDecision) -> RunDecision:
    """After a crash the run continues from whatever checkpoint it reached (read again)."""
    done = checkpoint_iteration(s.run.run_dir)
    action = "restart" if done is None else ("extend" if s.action == "extend" else "resume")
    return attrs.evolve(s, action=action, done=done if done is not None else 0)

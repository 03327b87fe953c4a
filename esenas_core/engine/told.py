"""What ``tell`` takes, as columns: one entry per request of an attempt.

Results arrive either as ``RolloutResult`` objects (a backend's) or as bare returns (a caller's
own evaluation). Both become a ``Told`` — arrays of returns, validity, steps and observation
statistics — so the rest of the iteration costs no Python object per rollout: at 1,024 pairs an
ask and a tell take well under a millisecond beside the evaluation (bench/ask_tell.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np

from esenas_core.api.errors import TellError
from esenas_core.api.records import RolloutResult


def result_indices(results: Sequence[RolloutResult]) -> np.ndarray:
    """The results' request indices (read from the arrays of ``ResultColumns``, without making
    an object per result)."""
    columns = getattr(results, "columns", None)  # engine.packed.ResultColumns
    if columns is not None:
        return np.asarray(columns["index"])
    return np.fromiter((r.index for r in results), dtype=np.int64, count=len(results))


@attrs.frozen(eq=False)
class Told:
    """Per request: the return (NaN where it failed), whether it finished with finite numbers
    (``RolloutResult.ok``), its steps, and its observation statistics (``obs_count`` None: the
    results carried none, as bare returns do)."""

    reward: np.ndarray  # (B,) float64
    ok: np.ndarray  # (B,) bool
    steps: np.ndarray  # (B,) int64
    errors: dict[int, str]  # position → error, for failed requests that gave one
    obs_count: np.ndarray | None = None  # (B,) int64
    obs_mean: np.ndarray | None = None  # (B, obs_dim) float64
    obs_m2: np.ndarray | None = None  # (B, obs_dim) float64

    def __len__(self) -> int:
        return int(self.reward.shape[0])

    @property
    def failures(self) -> int:
        return int(len(self) - np.count_nonzero(self.ok))

    def first_error(self) -> str | None:
        return next(iter(self.errors.values()), None)

    @classmethod
    def of(cls, results: Sequence[RolloutResult]) -> Told:
        """The columns of ``results`` (their rewards, steps and statistics as they are)."""
        columns = getattr(results, "columns", None)  # engine.packed.ResultColumns
        if columns is not None:
            return cls._of_columns(columns)
        n = len(results)
        reward = np.full(n, np.nan)
        ok = np.zeros(n, dtype=bool)
        steps = np.zeros(n, dtype=np.int64)
        errors: dict[int, str] = {}
        stats: list[tuple[int, int, Any, Any]] = []
        for i, r in enumerate(results):
            e = r.episode
            if r.ok and e is not None:
                ok[i] = True
                reward[i] = e.reward
                steps[i] = e.steps
                if e.obs_count:
                    stats.append((i, e.obs_count, e.obs_mean, e.obs_m2))
            elif r.error:
                errors[i] = r.error
        if not stats:
            return cls(reward, ok, steps, errors)
        dim = np.shape(stats[0][2])[0]
        count = np.zeros(n, dtype=np.int64)
        mean, m2 = np.zeros((n, dim)), np.zeros((n, dim))
        for i, c, m, s in stats:
            count[i], mean[i], m2[i] = c, m, s
        return cls(reward, ok, steps, errors, count, mean, m2)

    @classmethod
    def _of_columns(cls, c: dict[str, Any]) -> Told:
        ok = np.asarray(c["ok"], dtype=bool)
        errors = {
            i: e for i, e in enumerate(c["error"]) if e and not ok[i]
        }  # as ``of``: the failed results that say why
        count = np.where(ok, c["obs_count"], 0).astype(np.int64)
        return cls(
            np.where(ok, c["reward"], np.nan),
            ok,
            np.where(ok, c["steps"], 0).astype(np.int64),
            errors,
            count,
            np.asarray(c["obs_mean"], dtype=np.float64),
            np.asarray(c["obs_m2"], dtype=np.float64),
        )

    @classmethod
    def of_returns(cls, values: Any, n: int, where: str) -> Told:
        """One return per request: a number, or NaN / ±inf / None for a failed rollout; each
        counts as an episode of one step that saw no observation. ``TellError`` for anything
        else (a string, a bool, the wrong length)."""
        arr = np.asarray(values) if not isinstance(values, np.ndarray) else values
        if arr.ndim != 1:
            raise TellError(
                f"{where}: expected one return per request ({n}), got shape {arr.shape}"
            )
        if len(arr) != n:
            raise TellError(f"{where}: {len(arr)} results for {n} requests")
        if arr.dtype.kind in "fiu":
            reward = arr.astype(np.float64)
        elif arr.dtype.kind == "O":
            reward = np.array([_number(v, i, where) for i, v in enumerate(arr)], dtype=np.float64)
        else:
            bad = next(iter(arr.tolist()), None)
            raise TellError(f"{where}: result 0 is a {type(bad).__name__}, not a return")
        ok = np.isfinite(reward)
        errors = {int(i): f"non-finite return {reward[i]}" for i in np.flatnonzero(~ok)}
        reward = np.where(ok, reward, np.nan)
        return cls(reward, ok, ok.astype(np.int64), errors)


def _number(value: Any, i: int, where: str) -> float:
    if value is None:
        return np.nan
    if isinstance(value, bool | np.bool_) or not isinstance(
        value, int | float | np.integer | np.floating
    ):
        what = "a RolloutResult among returns" if isinstance(value, RolloutResult) else None
        raise TellError(
            f"{where}: result {i} is {what or f'a {type(value).__name__}, not a return'}"
        )
    return float(value)

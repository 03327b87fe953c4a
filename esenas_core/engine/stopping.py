"""Stopping rules (the config's ``[stop]`` table): a run ends at ``iterations`` or as soon as one
of these holds after an iteration. A stopped run is complete: its checkpoint, ``final/`` and
summary are written as at the last iteration, and the summary names the rule."""

from __future__ import annotations

import math
from typing import Any

import attrs

_ge0: Any = attrs.validators.ge(0)
_ge0f: Any = attrs.validators.ge(0.0)

#: the rules in the order they are checked (the first that holds is recorded)
RULES = ("episodes", "env_steps", "wall_time_s", "target_score", "patience")


@attrs.frozen
class StopConfig:
    """Stop after an iteration once a rule holds; 0 (or no ``target_score``) turns a rule off.

    - ``episodes`` / ``env_steps``: the run's episode or environment-step count reaches it;
    - ``wall_time_s``: the run's wall time (all of its processes together) reaches it;
    - ``target_score``: the iteration's exact-evaluation score at θ (``score_mean``) reaches it
      (any finite number: returns may be negative, as Pendulum's are);
    - ``patience``: this many iterations in a row without a new best evaluation.
    """

    episodes: int = attrs.field(default=0, validator=_ge0)
    env_steps: int = attrs.field(default=0, validator=_ge0)
    wall_time_s: float = attrs.field(default=0.0, validator=_ge0f)
    target_score: float | None = None
    patience: int = attrs.field(default=0, validator=_ge0)

    def to_dict(self) -> dict[str, Any]:
        """The rules that are on (TOML has no null: an unset target is left out)."""
        out = attrs.asdict(self)
        if out["target_score"] is None:
            del out["target_score"]
        return out


def stop_reason(
    stop: StopConfig,
    *,
    iteration: int,
    episodes: int,
    env_steps: int,
    wall_time: float,
    score: float,
    best_iteration: int,
) -> str | None:
    """The first rule that holds after ``iteration`` iterations, as ``"rule (value)"``, or None."""
    if stop.episodes and episodes >= stop.episodes:
        return f"episodes ({episodes} ≥ {stop.episodes})"
    if stop.env_steps and env_steps >= stop.env_steps:
        return f"env_steps ({env_steps} ≥ {stop.env_steps})"
    if stop.wall_time_s and wall_time >= stop.wall_time_s:
        return f"wall_time_s ({wall_time:.1f} s ≥ {stop.wall_time_s:g} s)"
    target = stop.target_score
    if target is not None and math.isfinite(score) and score >= target:
        return f"target_score ({score:.6g} ≥ {target:g})"
    if stop.patience and iteration - best_iteration >= stop.patience:
        return f"patience ({iteration - best_iteration} iterations without a new best)"
    return None

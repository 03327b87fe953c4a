"""Checkpoints: a ``RunState`` written and read as data, without pickle.

``RUN_DIR/checkpoint/`` holds ``state.json`` (counters, controller state, best record, …) and
``arrays.npz`` (θ, the estimator's state, observation statistics, best θ; loaded with
``allow_pickle=False``), written as one unit (``esenas_core.runs.atomic.write_folder``): a killed
process leaves either the old or the new checkpoint, never a mix.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from esenas_core.api import fields
from esenas_core.api.errors import PluginError, RunError
from esenas_core.api.interfaces import Architecture
from esenas_core.engine.obsstats import ObsStats
from esenas_core.engine.state import Best, RunState
from esenas_core.runs.atomic import write_folder

FORMAT = 1
_STATE_PREFIXES = ("estimator_", "optimizer_")  # the second: checkpoints of esenas ≤ 0.3


def save(state: RunState, run_dir: Path, controller: str = "controller") -> None:
    """Write ``state`` to ``run_dir/checkpoint``; ``controller`` names the controller in the
    error raised when its state is not JSON (before any file is written)."""
    best = state.best
    arrays = {
        "theta": state.theta,
        "obs_mean": state.obs.mean,
        "obs_m2": state.obs.m2,
        **{f"estimator_{k}": np.asarray(v) for k, v in state.estimator.items()},
    }
    if best.architecture is not None:
        arrays.update({f"best_{k}": v for k, v in best.arrays().items()})
    document = {
        "format": FORMAT,
        "iteration": state.iteration,
        "episodes": state.episodes,
        "env_steps": state.env_steps,
        "obs_count": state.obs.count,
        "wall_time": state.wall_time,
        "first_score": state.first_score,
        "last_score": state.last_score,
        "stopped_by": state.stopped_by,
        "controller": state.controller,
        "best": None
        if best.architecture is None
        else {
            "score": best.score,
            "objective": best.objective,
            "iteration": best.iteration,
            "env_seed": best.env_seed,
            "architecture": best.architecture.to_json(),
        },
    }
    try:  # before any file: nothing half-written if it fails
        text = json.dumps(document)
    except (TypeError, ValueError) as exc:  # the rest of the state is ours and always JSON
        raise PluginError(
            f"[controller] {controller}: state() must return JSON-serializable data (dicts,"
            f" lists, str, int, float, bool, None): {exc}; the last checkpoint is intact"
        ) from None
    write_folder(run_dir / "checkpoint", {"arrays.npz": arrays}, {"state.json": text})


def checkpoint_iteration(run_dir: Path) -> int | None:
    """The iteration of the run's last checkpoint, or None (no readable checkpoint)."""
    for name in ("checkpoint", "checkpoint.old"):  # the old one: killed between the renames
        try:
            state = json.loads((run_dir / name / "state.json").read_text(encoding="utf-8"))
            return fields.integer(state["iteration"], "iteration")
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return None


def load(run_dir: Path) -> RunState:
    """The ``RunState`` of ``run_dir/checkpoint`` (``RunError`` if missing or damaged)."""
    folder = run_dir / "checkpoint"
    if not folder.exists() and (run_dir / "checkpoint.old").exists():
        folder = run_dir / "checkpoint.old"  # killed between the two renames
    if not folder.exists():
        raise RunError(f"{run_dir}: no checkpoint to resume from (checkpoint/ is missing)")
    try:
        document = json.loads((folder / "state.json").read_text(encoding="utf-8"))
        arrays = fields.read_npz(folder / "arrays.npz")
    except (OSError, ValueError) as exc:
        raise RunError(
            f"{folder}: corrupt or unreadable checkpoint ({type(exc).__name__}: {exc})"
        ) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT or "theta" not in arrays:
        raise RunError(f"{folder}: not an esenas checkpoint of format {FORMAT}")
    try:
        checked = _arrays(arrays)
    except ValueError as exc:
        raise RunError(f"{folder}/arrays.npz: {exc}") from None
    try:
        return _state(document, checked)
    except ValueError as exc:
        raise RunError(f"{folder}/state.json: {exc}") from None
    except (KeyError, TypeError, AttributeError, IndexError) as exc:
        raise RunError(
            f"{folder}: corrupt or unreadable checkpoint ({type(exc).__name__}: {exc})"
        ) from None


def _arrays(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every array checked: real numbers, finite, shapes that fit together."""
    theta = fields.float_array(arrays, "theta")
    obs_mean = fields.float_array(arrays, "obs_mean")
    out = {
        "theta": theta,
        "obs_mean": obs_mean,
        "obs_m2": fields.float_array(arrays, "obs_m2", obs_mean.shape, nonnegative=True),
    }
    for key in arrays:
        if key.startswith(_STATE_PREFIXES):  # checked here, kept as stored (a step count is int)
            fields.float_array(arrays, key, ndim=None)
            out[key] = arrays[key]
    if "best_theta" in arrays:
        out["best_theta"] = fields.float_array(arrays, "best_theta", theta.shape)
        out["best_obs_mean"] = fields.float_array(arrays, "best_obs_mean", obs_mean.shape)
        out["best_obs_std"] = fields.float_array(
            arrays, "best_obs_std", obs_mean.shape, positive=True
        )
    return out


def _state(document: dict[str, Any], arrays: dict[str, np.ndarray]) -> RunState:
    best = Best()
    if document["best"] is not None:
        record = fields.table(document["best"], "best")
        if "best_theta" not in arrays:
            raise ValueError("best: recorded, but arrays.npz has no best_theta")
        score = fields.number(record["score"], "best.score")
        best = Best(
            score=score,
            objective=fields.number(record.get("objective", score), "best.objective", finite=False),
            iteration=fields.integer(record["iteration"], "best.iteration"),
            architecture=Architecture.from_json(record["architecture"]),
            theta=arrays["best_theta"],
            obs_mean=arrays["best_obs_mean"],
            obs_std=arrays["best_obs_std"],
            env_seed=fields.optional_integer(record.get("env_seed"), "best.env_seed"),
        )
    return RunState(
        theta=arrays["theta"],
        obs=ObsStats(
            fields.integer(document["obs_count"], "obs_count"), arrays["obs_mean"], arrays["obs_m2"]
        ),
        best=best,
        iteration=fields.integer(document["iteration"], "iteration"),
        episodes=fields.integer(document["episodes"], "episodes"),
        env_steps=fields.integer(document["env_steps"], "env_steps"),
        first_score=fields.optional_number(
            document.get("first_score"),
            "first_score",
            nan=True,  # no exact eval finished
        ),
        estimator=_estimator_state(arrays),
        controller=dict(fields.table(document["controller"], "controller")),
        wall_time=fields.number(document["wall_time"], "wall_time", lo=0.0),
        last_score=fields.number(
            document.get("last_score", math.nan), "last_score", finite=False, nan=True
        ),
        stopped_by=_optional_text(document.get("stopped_by"), "stopped_by"),
    )


def _estimator_state(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The estimator's state: ``estimator_*`` arrays, or ``optimizer_*`` in a checkpoint written
    before estimators were plugins (Adam's moments; the same state under its old name)."""
    out: dict[str, np.ndarray] = {}
    for key, value in arrays.items():
        for prefix in _STATE_PREFIXES:
            if key.startswith(prefix):
                name = key.removeprefix(prefix)
                if name in out:
                    raise ValueError(f"{key}: the state {name!r} is stored twice")
                out[name] = value
    return out


def _optional_text(value: Any, where: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{where}: expected a string or null, got {value!r}")
    return value

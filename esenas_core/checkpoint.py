"""Checkpoints: everything needed to continue a run exactly, without pickle.

``RUN_DIR/checkpoint/`` holds ``state.json`` (counters, controller state, best record, …) and
``arrays.npz`` (θ, optimizer moments, observation statistics, best θ; loaded with
``allow_pickle=False``). Written to ``checkpoint.tmp/`` first, then swapped in by renames, so a
killed process leaves either the old or the new checkpoint, never a mix.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from esenas_core.errors import PluginError, RunError
from esenas_core.interfaces import Architecture
from esenas_core.obsstats import ObsStats
from esenas_core.plugins import call_plugin

FORMAT = 1


def save(trainer: Any, run_dir: Path, wall_time: float) -> None:
    """Write the trainer's state atomically to ``run_dir/checkpoint``."""
    best = trainer.best
    arrays = {
        "theta": trainer.theta,
        "obs_mean": trainer.obs.mean,
        "obs_m2": trainer.obs.m2,
        **{f"optimizer_{k}": np.asarray(v) for k, v in trainer.optimizer.state().items()},
    }
    if best.architecture is not None:
        arrays.update(best_theta=best.theta, best_obs_mean=best.obs_mean, best_obs_std=best.obs_std)
    state = {
        "format": FORMAT,
        "iteration": trainer.iteration,
        "episodes": trainer.episodes,
        "env_steps": trainer.env_steps,
        "obs_count": trainer.obs.count,
        "wall_time": wall_time,
        "first_score": trainer.summary()["first_score"],
        "controller": controller_state(trainer),
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
        text = json.dumps(state)
    except (TypeError, ValueError) as exc:  # the rest of the state is ours and always JSON
        raise PluginError(
            f"[controller] {trainer.cfg.controller.name}: state() must return JSON-serializable"
            f" data (dicts, lists, str, int, float, bool, None): {exc}; the last checkpoint is"
            " intact"
        ) from None
    tmp = run_dir / "checkpoint.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    with open(tmp / "arrays.npz", "wb") as fh:
        np.savez(fh, **arrays)
        fh.flush()
        os.fsync(fh.fileno())
    with open(tmp / "state.json", "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    fsync_dir(tmp)
    swap_in(tmp, run_dir / "checkpoint")


def controller_state(trainer: Any) -> Any:
    """The controller's ``state()`` (errors raised in it name the controller)."""
    name = trainer.cfg.controller.name
    return call_plugin(trainer.exp.controller.state, "controller", name, "")


def swap_in(tmp: Path, final: Path) -> None:
    """Replace the folder ``final`` by the complete folder ``tmp``.

    At every instant a complete ``final`` or ``final.old`` exists (``load`` reads the old one
    when ``final`` is missing): the old folder is removed only after the new one is in place, and
    a leftover ``final.old`` is only discarded while ``final`` exists. The parent directory is
    fsynced after each rename.
    """
    old = final.with_name(final.name + ".old")
    if final.exists():
        shutil.rmtree(old, ignore_errors=True)
        final.rename(old)
        fsync_dir(final.parent)
    tmp.rename(final)
    fsync_dir(final.parent)
    shutil.rmtree(old, ignore_errors=True)


def fsync_dir(path: Path) -> None:
    """Make a directory's entries (renames, new files) durable; a no-op where unsupported."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def checkpoint_iteration(run_dir: Path) -> int | None:
    """The iteration of the run's last checkpoint, or None (no readable checkpoint)."""
    for name in ("checkpoint", "checkpoint.old"):  # the old one: killed between the renames
        try:
            state = json.loads((run_dir / name / "state.json").read_text(encoding="utf-8"))
            return int(state["iteration"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return None


def load(trainer: Any, run_dir: Path) -> float:
    """Restore the trainer from ``run_dir/checkpoint``; returns the wall time already spent."""
    folder = run_dir / "checkpoint"
    if not folder.exists() and (run_dir / "checkpoint.old").exists():
        folder = run_dir / "checkpoint.old"  # killed between the two renames
    if not folder.exists():
        raise RunError(f"{run_dir}: no checkpoint to resume from (checkpoint/ is missing)")
    try:
        state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
        with np.load(folder / "arrays.npz", allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
        raise RunError(
            f"{folder}: corrupt or unreadable checkpoint ({type(exc).__name__}: {exc})"
        ) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT or "theta" not in arrays:
        raise RunError(f"{folder}: not an esenas checkpoint of format {FORMAT}")
    try:
        return _restore(trainer, folder, state, arrays)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise RunError(
            f"{folder}: corrupt or unreadable checkpoint ({type(exc).__name__}: {exc})"
        ) from None


def _restore(trainer: Any, folder: Path, state: dict, arrays: dict[str, np.ndarray]) -> float:
    if arrays["theta"].shape != trainer.theta.shape:
        raise RunError(
            f"{folder}: θ has {arrays['theta'].size} parameters, the config's search space"
            f" {trainer.theta.size}"
        )
    trainer.theta = arrays["theta"]
    trainer.obs = ObsStats(int(state["obs_count"]), arrays["obs_mean"], arrays["obs_m2"])
    trainer.optimizer.restore(
        {k.removeprefix("optimizer_"): v for k, v in arrays.items() if k.startswith("optimizer_")}
    )
    trainer.iteration = int(state["iteration"])
    trainer.episodes = int(state["episodes"])
    trainer.env_steps = int(state["env_steps"])
    trainer.first_score = state.get("first_score")
    trainer.exp.controller.restore(state["controller"])
    if state["best"] is not None:
        from esenas_core.trainer import Best

        trainer.best = Best(
            score=float(state["best"]["score"]),
            objective=float(state["best"].get("objective", state["best"]["score"])),
            iteration=int(state["best"]["iteration"]),
            architecture=Architecture.from_json(state["best"]["architecture"]),
            theta=arrays["best_theta"],
            obs_mean=arrays["best_obs_mean"],
            obs_std=arrays["best_obs_std"],
            env_seed=state["best"].get("env_seed"),
        )
    return float(state["wall_time"])

"""Replay the best policy of a run from its self-describing ``best/`` folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from esenas_core.api import fields
from esenas_core.api.errors import GenomeError, RunError
from esenas_core.api.interfaces import Architecture, Task
from esenas_core.api.plugins import Registries, call_plugin
from esenas_core.engine.seeding import STREAM_EVALUATE, STREAM_VIDEO, derive_seed
from esenas_core.runs.config import load_config

MAX_EPISODES = 1_000_000  # `evaluate --episodes`: returns and seeds are held in memory
CHUNK = 64  # episodes evaluated together


@attrs.frozen
class Evaluation:
    returns: np.ndarray
    recorded_score: float
    recorded_env_seed: int | None

    @property
    def mean(self) -> float:
        return float(self.returns.mean())

    @property
    def std(self) -> float:
        return float(self.returns.std())


def load_best(run_dir: Path) -> tuple[dict, dict[str, np.ndarray]]:
    folder = Path(run_dir) / "best"
    if not folder.exists() and (Path(run_dir) / "best.old").exists():
        folder = Path(run_dir) / "best.old"  # killed between the two renames of a save
    try:
        meta = json.loads((folder / "architecture.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{run_dir}: no best/ folder (has the run finished an iteration?)") from None
    except (OSError, ValueError) as exc:
        raise RunError(f"{folder}/architecture.json: unreadable ({exc})") from None
    try:
        arrays = fields.read_npz(folder / "weights.npz")
    except FileNotFoundError:
        raise RunError(f"{folder}/weights.npz: missing") from None
    except (OSError, ValueError) as exc:
        raise RunError(f"{folder}/weights.npz: {exc}") from None
    missing = [k for k in ("architecture", "score") if not isinstance(meta, dict) or k not in meta]
    missing += [k for k in ("theta", "obs_mean", "obs_std") if k not in arrays]
    if missing:
        raise RunError(f"{folder}: damaged (missing {', '.join(missing)})")
    try:
        meta["score"] = fields.number(meta["score"], "score")
        meta["env_seed"] = fields.optional_integer(meta.get("env_seed"), "env_seed")
        meta["iteration"] = fields.integer(meta.get("iteration", 0), "iteration")
    except ValueError as exc:
        raise RunError(f"{folder}/architecture.json: {exc}") from None
    try:
        checked = {"theta": fields.float_array(arrays, "theta")}
        checked["obs_mean"] = fields.float_array(arrays, "obs_mean")
        checked["obs_std"] = fields.float_array(
            arrays, "obs_std", checked["obs_mean"].shape, positive=True
        )
    except ValueError as exc:
        raise RunError(f"{folder}/weights.npz: {exc}") from None
    return meta, checked


def best_architecture(run_dir: Path, meta: dict, arrays: dict, space: Any, obs_dim: int) -> Any:
    """The best architecture, after checking that θ and the normalization fit the config."""
    folder = Path(run_dir) / "best"
    try:
        arch = space.decode(Architecture.from_json(meta["architecture"]).genome)
    except (KeyError, TypeError, ValueError, IndexError, GenomeError) as exc:
        raise RunError(f"{folder}/architecture.json: {exc}") from None
    theta, mean, std = arrays["theta"], arrays["obs_mean"], arrays["obs_std"]
    if theta.shape != (space.num_params,) or mean.shape != (obs_dim,) or std.shape != (obs_dim,):
        raise RunError(
            f"{folder}/weights.npz: θ has shape {theta.shape} and the normalization"
            f" {mean.shape}/{std.shape}; the config's search space needs ({space.num_params},)"
            f" and ({obs_dim},)"
        )
    return arch


def evaluate_best(
    run_dir: Path,
    registries: Registries,
    episodes: int = 10,
    seed: int = 0,
    env_seeds: list[int] | None = None,
) -> Evaluation:
    """Run the best (architecture, θ, normalization) for ``episodes`` seeded episodes."""
    run_dir = Path(run_dir)
    _, task, space = load_run_plugins(run_dir, registries)
    meta, arrays = load_best(run_dir)
    arch = best_architecture(run_dir, meta, arrays, space, task.spec().obs_dim)
    if not 1 <= episodes <= MAX_EPISODES:
        raise RunError(f"episodes = {episodes}: expected 1 to {MAX_EPISODES:,}")
    seeds = env_seeds or [derive_seed(seed, STREAM_EVALUATE, i) for i in range(episodes)]
    results = []
    for lo in range(0, len(seeds), CHUNK):  # bounded memory: θ is repeated per episode
        chunk = seeds[lo : lo + CHUNK]
        params = np.repeat(arrays["theta"][None, :], len(chunk), axis=0)
        results += task.run_episodes(
            space, params, [arch] * len(chunk), chunk, arrays["obs_mean"], arrays["obs_std"]
        )
    task.close()
    return Evaluation(
        np.array([r.reward for r in results]), float(meta["score"]), meta.get("env_seed")
    )


def record_video(
    run_dir: Path,
    registries: Registries,
    path: Path,
    seed: int = 0,
    steps: int = 1000,
    every: int = 2,
) -> int:
    """Render one episode of the best policy to a GIF (tasks that implement
    ``Task.render_episode``). Returns the frame count."""
    import imageio.v2 as imageio

    run_dir, path = Path(run_dir), Path(path)
    if path.suffix.lower() != ".gif":
        raise RunError(f"{path}: videos are written as GIF; use a .gif file name")
    cfg, task, space = load_run_plugins(run_dir, registries)
    meta, arrays = load_best(run_dir)
    arch = best_architecture(run_dir, meta, arrays, space, task.spec().obs_dim)
    if type(task).render_episode is Task.render_episode:
        raise RunError(f"{run_dir}: task {cfg.task.name!r} cannot render episodes")
    frames = call_plugin(
        task.render_episode,
        "task",
        cfg.task.name,
        "",
        space,
        arrays["theta"],
        arch,
        arrays["obs_mean"],
        arrays["obs_std"],
        derive_seed(seed, STREAM_VIDEO),
        steps,
        every,
    )
    task.close()
    imageio.mimsave(path, [np.asarray(f)[::2, ::2] for f in frames], duration=every * 0.02, loop=0)
    return len(frames)


def imported_modules(cfg: Any) -> list[str]:
    """Modules that building the run's task would import because its config names them:
    gymnasium imports ``module`` for an ``env_id`` of the form ``module:Env-v0``."""
    env_id = getattr(cfg.task.options, "env_id", "")
    return [env_id.partition(":")[0]] if isinstance(env_id, str) and ":" in env_id else []


def load_run_plugins(
    run_dir: Path, registries: Registries, imports: bool = True
) -> tuple[Any, Any, Any]:
    """A finished or running run's config, task and search space (as its config builds them).
    With ``imports=False`` a config that would import a module it names is refused
    (``RunError``): ``report`` reads folders from anyone (docs/runs.md#trust)."""
    cfg = load_config(Path(run_dir) / "config.toml", [], registries)
    named = imported_modules(cfg)
    if named and not imports:
        raise RunError(
            f"{run_dir}/config.toml: building its task would import module {named[0]!r}, which"
            " the run folder names"
        )
    task = registries.create("task", cfg.task.name, cfg.task.options, where=cfg.source)
    spec = call_plugin(task.spec, "task", cfg.task.name, cfg.source)
    space = registries.create(
        "search_space", cfg.search_space.name, cfg.search_space.options, spec, where=cfg.source
    )
    return cfg, task, space

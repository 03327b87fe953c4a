"""Replay the best policy of a run from its self-describing ``best/`` folder."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import numpy as np

from esenas_core.config import load_config
from esenas_core.errors import RunError
from esenas_core.interfaces import Architecture
from esenas_core.plugins import Registries
from esenas_core.seeding import derive_seed


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
    try:
        meta = json.loads((folder / "architecture.json").read_text(encoding="utf-8"))
        with np.load(folder / "weights.npz", allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except FileNotFoundError:
        raise RunError(f"{run_dir}: no best/ folder (has the run finished an iteration?)") from None
    except (OSError, ValueError) as exc:
        raise RunError(f"{folder}: unreadable ({type(exc).__name__}: {exc})") from None
    return meta, arrays


def evaluate_best(
    run_dir: Path,
    registries: Registries,
    episodes: int = 10,
    seed: int = 0,
    env_seeds: list[int] | None = None,
) -> Evaluation:
    """Run the best (architecture, θ, normalization) for ``episodes`` seeded episodes."""
    run_dir = Path(run_dir)
    cfg = load_config(run_dir / "config.toml", [], registries)
    meta, arrays = load_best(run_dir)
    task = registries.create("task", cfg.task.name, cfg.task.options)
    space = registries.create(
        "search_space", cfg.search_space.name, cfg.search_space.options, task.spec()
    )
    arch = space.decode(Architecture.from_json(meta["architecture"]).genome)
    seeds = env_seeds or [derive_seed(seed, 99, i) for i in range(episodes)]
    params = np.repeat(arrays["theta"][None, :], len(seeds), axis=0)
    results = task.run_episodes(
        space, params, [arch] * len(seeds), seeds, arrays["obs_mean"], arrays["obs_std"]
    )
    task.close()
    return Evaluation(
        np.array([r.reward for r in results]), float(meta["score"]), meta.get("env_seed")
    )

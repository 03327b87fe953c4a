"""The golden run: a fixed config whose θ and metrics must stay the same to the last bit across
refactorings (``python tests/golden.py --write`` records them in tests/golden.json; only for a
change that is meant to change the numbers, with a new results version)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from conftest import small_config

from esenas_core.api.plugins import Registries, get_plugin_manager
from esenas_core.engine.experiment import Experiment
from esenas_core.engine.trainer import Trainer
from esenas_core.runs.config import build_config

GOLDEN = Path(__file__).with_name("golden.json")
COLUMNS = ("score_mean", "perturbed_mean", "best_score", "grad_norm", "theta_norm", "valid_units")


def config() -> dict[str, Any]:
    """A seconds-fast synthetic task (no environment, no compiled kernel: the same bits on any
    x86-64 CPU) with a controller, Adam and every iteration's bookkeeping."""
    return small_config(
        seed=11,
        iterations=6,
        task={"name": "hybrid", "obs_dim": 3, "act_dim": 2, "active": 3, "target_seed": 0},
        search_space={"name": "edges", "hidden": [], "k": 4, "init_std": 0.3},
        es={
            "num_perturbations": 8,
            "exact_evals": 2,
            "sigma": 0.1,
            "learning_rate": 0.05,
            "optimizer": "adam",
            "obs_norm": False,
        },
    )


def run() -> dict[str, Any]:
    registries = Registries(get_plugin_manager(entry_points=False))
    trainer = Trainer(Experiment.build(build_config(config(), registries), registries))
    trainer.train()
    return {
        "theta": [float(x).hex() for x in trainer.theta],
        "metrics": [{k: float(row[k]).hex() for k in COLUMNS} for row in trainer.history],
        "controller": trainer.exp.controller.state(),
    }


if __name__ == "__main__" and "--write" in sys.argv:
    GOLDEN.write_text(json.dumps(run(), indent=1) + "\n")

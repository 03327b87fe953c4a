"""Print a digest of θ, the metrics (timing columns excluded) and the controller state of short
runs: ``python bits_probe.py CONFIGS_JSON`` with a JSON list of config dicts; one line of JSON out.

tests/test_determinism.py runs it under different CPU dispatch settings and compares the lines.
"""

from __future__ import annotations

import hashlib
import json
import sys

import numpy as np

from esenas_core.api.plugins import Registries, get_plugin_manager
from esenas_core.engine.experiment import Experiment
from esenas_core.engine.metrics import TIMING_COLUMNS
from esenas_core.engine.trainer import Trainer
from esenas_core.runs.config import build_config


def digest(config: dict) -> str:
    registries = Registries(get_plugin_manager(entry_points=False))
    trainer = Trainer(Experiment.build(build_config(config, registries), registries))
    trainer.train()
    rows = [
        {k: float(v).hex() if isinstance(v, float) else v for k, v in row.items()
         if k not in TIMING_COLUMNS}
        for row in trainer.history
    ]  # fmt: skip
    h = hashlib.sha256(np.asarray(trainer.theta, dtype=np.float64).tobytes())
    h.update(json.dumps(rows, sort_keys=True, default=str).encode())
    h.update(json.dumps(trainer.exp.controller.state(), sort_keys=True).encode())
    return h.hexdigest()


if __name__ == "__main__":
    print(json.dumps([digest(c) for c in json.loads(sys.argv[1])]))

"""Test-only plugins, loaded through ESENAS_PLUGINS exactly like a user's unpackaged plugin.

``flaky``: the real ``gym`` task whose rollouts fail (raise, or return NaN) for a deterministic
subset of parameter vectors, so each member of an antithetic pair fails independently; and that
can be slow to start (``startup_s``).
"""

from __future__ import annotations

import time
from typing import Literal

import attrs
import numpy as np
from esenas_plugins.tasks.gym import GymOptions, GymTask

from esenas_core import hookimpl


@attrs.frozen
class FlakyOptions(GymOptions):
    fail_mod: int = 4
    failure: Literal["raise", "nan", "hang", "swallow"] = "raise"  # swallow: hang, eat Ctrl-C
    sleep_s: float = 0.0  # per run_episodes call, to make tasks slow enough to interrupt
    startup_s: float = 0.0  # once per process, when the task is built (a slow import or setup)


def fails(params_row: np.ndarray, fail_mod: int) -> bool:
    """Deterministic per parameter vector: about 1/fail_mod of perturbed vectors fail."""
    return int(abs(float(params_row.sum())) * 1e6) % fail_mod == 0


class FlakyTask(GymTask):
    """Gym task with injected failures."""

    name = "flaky"
    Options = FlakyOptions

    def __init__(self, options: FlakyOptions) -> None:
        super().__init__(options)
        time.sleep(options.startup_s)

    def run_episodes(self, space, params, architectures, env_seeds, obs_mean, obs_std):
        if self.options.sleep_s:
            time.sleep(self.options.sleep_s)
        results = super().run_episodes(space, params, architectures, env_seeds, obs_mean, obs_std)
        for row in range(params.shape[0]):
            if fails(params[row], self.options.fail_mod):
                if self.options.failure == "hang":
                    time.sleep(600)
                while self.options.failure == "swallow":  # a library that eats KeyboardInterrupt
                    try:
                        time.sleep(600)
                    except KeyboardInterrupt:
                        pass
                if self.options.failure == "raise":
                    raise RuntimeError("injected failure")
                results[row] = attrs.evolve(results[row], reward=float("nan"))
        return results


@hookimpl
def esenas_register_tasks(register):
    register(FlakyTask)

"""Conformance checkers for plugin authors (in the spirit of gymnasium's ``check_env``), one
per plugin kind, all exported from ``esenas_core``:

    from esenas_core import TaskSpec, check_controller, check_search_space
    check_search_space(MySpace(MySpace.Options(), TaskSpec(obs_dim=5, act_dim=2)))
    check_controller(MyController)
    check_backend(MyBackend)          # results equal the in-process reference, in order
    check_task(MyTask)                # episodes deterministic, independent of batching
    check_estimator(MyEstimator)      # its update replayed bit for bit, along the gradient

Each raises ``ConformanceError`` saying what is wrong, or returns the names of the checks it ran.
They are tooling above the engine (they run plugins on small stand-ins), not part of the API
layer, as gymnasium keeps ``utils/env_checker.py`` outside its core.
"""

from esenas_core.checks.common import ConformanceError
from esenas_core.checks.controller import check_controller
from esenas_core.checks.estimator import check_estimator
from esenas_core.checks.runtime import check_backend, check_task
from esenas_core.checks.search_space import check_search_space

__all__ = [
    "ConformanceError",
    "check_backend",
    "check_controller",
    "check_estimator",
    "check_search_space",
    "check_task",
]

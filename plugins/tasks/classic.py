"""``classic``: gymnasium's classic-control environments, a whole batch stepped as numpy arrays.

``env_id`` is one of Pendulum-v1, CartPole-v1, MountainCar-v0, MountainCarContinuous-v0 and
Acrobot-v1 (``plugins/tasks/classic_envs.py``). Dynamics, rewards, termination, the time limit
registered with gymnasium and the start states drawn from each episode's seed are gymnasium's,
bit for bit (tests/test_classic.py compares every step with gymnasium's own environments), so a
run on ``classic`` gives the same numbers as the same run on ``gym``, many times faster.
"""

from __future__ import annotations

import attrs
import gymnasium as gym

from esenas_core import ConfigError, VectorEnv, VectorTask, hookimpl

from .classic_envs import ENVS

MAX_BATCH = 1 << 20  # episodes stepped together in one worker (memory is checked as well)
MAX_EPISODE_STEPS = 1_000_000


@attrs.frozen
class ClassicOptions:
    """Options of the ``classic`` task."""

    env_id: str = "Pendulum-v1"
    max_episode_steps: int = attrs.field(  # 0: gymnasium's registered time limit
        default=0, validator=[attrs.validators.ge(0), attrs.validators.le(MAX_EPISODE_STEPS)]
    )
    batch: int = attrs.field(  # episodes stepped together (a worker's chunk runs in batches)
        default=4096, validator=[attrs.validators.ge(1), attrs.validators.le(MAX_BATCH)]
    )


class ClassicTask(VectorTask):
    """Episodic return of a classic-control environment, batched."""

    name = "classic"
    Options = ClassicOptions

    def make_env(self) -> VectorEnv:
        opts = self.options
        if opts.env_id not in ENVS:
            raise ConfigError(
                f"[task] classic: env_id {opts.env_id!r} is not one of {', '.join(sorted(ENVS))};"
                " any other gymnasium environment runs on the `gym` task"
            )
        env = ENVS[opts.env_id]()
        env.max_episode_steps = opts.max_episode_steps or int(
            gym.spec(opts.env_id).max_episode_steps or 0
        )
        return env

    @property
    def batch_size(self) -> int:
        return self.options.batch

    def label(self) -> str:
        return self.options.env_id


@hookimpl
def esenas_register_tasks(register):
    register(ClassicTask)

"""The batched example task: the public checker, and a short run through the public surface."""

import numpy as np
from esenas_input_mask.reach import ReachEnv, ReachTask

from esenas_core import check_task, get_registries


def test_conformance() -> None:
    check_task(ReachTask)
    check_task(ReachTask, ReachTask.Options(dims=3, batch=2))  # seeds split over batches


def test_found_through_its_entry_point() -> None:
    entry = get_registries()["task"].get("reach")
    assert entry.cls is ReachTask and entry.source == "esenas-input-mask"


def test_pushing_towards_the_target_ends_the_episode() -> None:
    env = ReachEnv(dims=2, max_episode_steps=400)
    state = env.reset(np.array([1, 2, 3]))
    for _ in range(400):
        obs = env.observe(state)
        state, reward, done = env.step(state, np.clip(4 * obs[:, 4:] - 2 * obs[:, 2:4], -1, 1))
        if done.all():
            break
    assert done.all() and (reward > -0.05).all()

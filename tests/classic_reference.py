"""Episodes of gymnasium's own classic-control environments, every step recorded (the reference
that tests/test_classic.py holds the ``classic`` task to).

    python tests/classic_reference.py ENV_ID EPISODES SEED OUT.npz

Actions are drawn from a seeded generator in stretches of one to twenty steps of one action
(random, sticky and extreme actions, so that speed limits, walls and termination are reached;
continuous actions range over 1.2 × the action box, so clipping is exercised too). The same
seed gives the same actions and reset seeds, which ``actions`` returns for the batched side.
"""

from __future__ import annotations

import sys

import gymnasium as gym
import numpy as np


def plan(env_id: str, episodes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(reset seeds (E,), actions (E, T, act) floats or (E, T) ints) for the episodes."""
    env = gym.make(env_id)
    steps = env.spec.max_episode_steps
    rng = np.random.default_rng(seed)
    seeds = rng.integers(0, 2**31 - 1, episodes)
    space = env.action_space
    if isinstance(space, gym.spaces.Discrete):
        shape: tuple[int, ...] = (episodes, steps)
        draw = lambda n: rng.integers(space.n, size=n)  # noqa: E731
    else:
        shape = (episodes, steps, space.shape[0])
        span = 1.2 * np.asarray(space.high, dtype=np.float64)
        draw = lambda n: rng.uniform(-span, span, size=(n, space.shape[0]))  # noqa: E731
    actions = np.zeros(shape, dtype=np.int64 if len(shape) == 2 else np.float64)
    for e in range(episodes):
        t = 0
        while t < steps:
            run = int(rng.integers(1, 21))
            actions[e, t : t + run] = draw(1)[0]
            t += run
    return seeds, actions


def reference(env_id: str, episodes: int, seed: int) -> dict[str, np.ndarray]:
    """Every step of gymnasium's episodes: obs (E, T+1, obs) float64 (NaN past the end),
    rewards (E, T), terminated / truncated (E, T), lengths (E,)."""
    seeds, actions = plan(env_id, episodes, seed)
    env = gym.make(env_id)
    steps = env.spec.max_episode_steps
    obs_dim = env.observation_space.shape[0]
    out = {
        "obs": np.full((episodes, steps + 1, obs_dim), np.nan),
        "rewards": np.zeros((episodes, steps)),
        "terminated": np.zeros((episodes, steps), dtype=bool),
        "truncated": np.zeros((episodes, steps), dtype=bool),
        "lengths": np.zeros(episodes, dtype=np.int64),
    }
    for e, s in enumerate(seeds):
        obs, _ = env.reset(seed=int(s))
        out["obs"][e, 0] = obs
        for t in range(steps):
            obs, reward, terminated, truncated, _ = env.step(actions[e, t])
            out["obs"][e, t + 1] = obs
            out["rewards"][e, t] = reward
            out["terminated"][e, t], out["truncated"][e, t] = terminated, truncated
            if terminated or truncated:
                out["lengths"][e] = t + 1
                break
    return out


if __name__ == "__main__":
    env_id, episodes, seed, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    np.savez(path, **reference(env_id, episodes, seed))

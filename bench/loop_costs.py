"""What single operations cost inside a MuJoCo step loop (diagnostic for the rollout benchmark).

    python bench/loop_costs.py [--env HalfCheetah-v5] [--seconds 120]
                               [--out bench/results/loop_costs.json]

Variants of a bare one-environment loop (the raw env beneath gymnasium's wrappers, zero action),
each adding one operation per step; they run interleaved in slices of 32 steps (order rotating)
for ``--seconds``, timed by CPU time. Reported: µs per step and the extra over the bare loop.
A MuJoCo step evicts the CPU's small caches, so operations between steps cost several times
their in-cache time; this shows by how much.
"""

from __future__ import annotations

import argparse
import itertools
import operator
import time
from collections.abc import Callable, Iterator

import gymnasium as gym
import numpy as np
from _results import write_result


def variants(env_id: str, horizon: int) -> dict[str, Callable[[], Iterator[None]]]:
    def loop(extra: str) -> Iterator[None]:
        env = gym.make(env_id, max_episode_steps=horizon)
        step = env.unwrapped.step
        zero = np.zeros(env.action_space.shape)
        rows = out = np.zeros((1, *env.action_space.shape))
        live = [step]

        class Policy:
            def __call__(self, obs: np.ndarray) -> np.ndarray:
                return out[: len(obs)]

        policy = Policy()
        for episode in itertools.count():
            obs = np.array([env.reset(seed=episode)[0]])
            kept: list = []
            for _ in range(horizon):
                if extra == "none":
                    step(zero)
                elif extra == "np.array of the observation":
                    obs = np.array((step(zero)[0],), dtype=np.float64)
                elif extra == "a trivial Python method call":
                    policy(obs)
                    step(zero)
                elif extra == "zip(*map(call, envs, actions))":
                    zip(*map(operator.call, live, rows), strict=True)
                elif extra == "any(list(map(or_, flags, flags)))":
                    _, _, terminated, truncated, _ = step(zero)
                    any(list(map(operator.or_, (terminated,), (truncated,))))
                elif extra == "keep the step's result until the next step":
                    kept = [step(zero)]
                yield None
            del kept

    names = [
        "none",
        "np.array of the observation",
        "a trivial Python method call",
        "zip(*map(call, envs, actions))",
        "any(list(map(or_, flags, flags)))",
        "keep the step's result until the next step",
    ]
    return {name: (lambda name=name: loop(name)) for name in names}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="HalfCheetah-v5")
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--out", default="bench/results/loop_costs.json")
    args = parser.parse_args()

    loops = {name: make() for name, make in variants(args.env, 1000).items()}
    for loop in loops.values():  # warm-up
        for _ in range(200):
            next(loop)
    cpu = dict.fromkeys(loops, 0.0)
    steps = dict.fromkeys(loops, 0)
    names, k, end = list(loops), 0, time.monotonic() + args.seconds
    while time.monotonic() < end:
        for name in names[k % len(names) :] + names[: k % len(names)]:
            loop = loops[name]
            start = time.process_time()
            for _ in range(32):
                next(loop)
            cpu[name] += time.process_time() - start
            steps[name] += 32
        k += 1
    us = {name: 1e6 * cpu[name] / steps[name] for name in names}
    result = {
        "env": args.env,
        "seconds": args.seconds,
        "us_per_step": us,
        "extra_us_per_step": {name: us[name] - us["none"] for name in names[1:]},
    }
    write_result(result, args.out)


if __name__ == "__main__":
    main()

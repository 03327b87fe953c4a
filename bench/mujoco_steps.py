"""Lean MuJoCo steps: the ``gym`` task's episodes with and without them, in one run.

    python bench/mujoco_steps.py [--rounds 5] [--episodes 8] [--out bench/results/mujoco_steps.json]

Per environment (Swimmer-v5, HalfCheetah-v5, Hopper-v5, Walker2d-v5): ``--episodes`` episodes of
a 90 %-pruned residual [32, 32] policy (``edges``, ``keep_linear``, ``k_fraction = 0.1``) at
θ = 0 (zero torque: Hopper and Walker2d stand longest), stepped in one lockstep batch by the
``gym`` task, once with ``lean_steps`` (``plugins/tasks/mujoco_steps.py``) and once with
gymnasium's own ``step``. The two alternate for ``--rounds`` rounds after one untimed round
each; the ratio is of summed times, and the episodes' returns are checked equal bit for bit.
Hopper and Walker2d episodes end when the policy falls (resets count), so their step counts are
reported beside the times.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _results import write_result

from esenas_core.api.plugins import get_registries

ENVS = ("Swimmer-v5", "HalfCheetah-v5", "Hopper-v5", "Walker2d-v5")


def measure(env_id: str, rounds: int, episodes: int) -> dict:
    reg = get_registries()
    opts = {"env_id": env_id, "lockstep": episodes}
    lean, plain = reg.create("task", "gym", opts), reg.create("task", "gym", opts)
    plain.lean_steps = False
    space_opts = {"hidden": [32, 32], "mode": "residual", "keep_linear": True, "k_fraction": 0.1}
    space = reg.create("search_space", "edges", space_opts, lean.spec())
    rng = np.random.default_rng(0)
    params = np.zeros((episodes, space.num_params))
    archs = [space.decode(g) for g in space.decisions.sample(rng, episodes)]
    dim = lean.spec().obs_dim
    seeds = list(range(episodes))

    def run(task):
        start = time.perf_counter()
        out = task.run_episodes(space, params, archs, seeds, np.zeros(dim), np.ones(dim))
        return time.perf_counter() - start, out

    _, want = run(plain)
    run(lean)
    times: dict[str, list[float]] = {"lean": [], "gymnasium": []}
    for _ in range(rounds):
        took, got = run(lean)
        times["lean"].append(took)
        times["gymnasium"].append(run(plain)[0])
        assert [e.reward for e in got] == [e.reward for e in want], "lean steps changed a return"
    steps = sum(e.steps for e in want)
    lean_s, plain_s = float(np.sum(times["lean"])), float(np.sum(times["gymnasium"]))
    return {
        "env_steps_per_round": steps,
        "us_per_step_lean": 1e6 * lean_s / (rounds * steps),
        "us_per_step_gymnasium": 1e6 * plain_s / (rounds * steps),
        "lean_time_ratio": lean_s / plain_s,
        "rounds": times,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--episodes", type=int, default=8)
    parser.add_argument("--out", default="bench/results/mujoco_steps.json")
    args = parser.parse_args()
    result = {env_id: measure(env_id, args.rounds, args.episodes) for env_id in ENVS}
    write_result(result, args.out)
    for env_id, r in result.items():
        print(
            f"{env_id}: {r['us_per_step_lean']:.0f} µs per env step lean, "
            f"{r['us_per_step_gymnasium']:.0f} with gymnasium's step "
            f"(time ratio {r['lean_time_ratio']:.2f}, {r['env_steps_per_round']} steps per round)"
        )


if __name__ == "__main__":
    main()

"""Rollout throughput and forward-pass speed of the NAS policy (issue: search spaces).

    python bench/rollouts.py [--env HalfCheetah-v5] [--rounds 3] [--out bench/results/rollouts.json]

1. Throughput: env steps/s of esenas rollouts (``gym`` task, ``edges`` space, hidden [32, 32],
   64 edges, lockstep batches) vs the bare environment loop (same env, fixed zero action, one env),
   measured alternately in the same process (CPU time of this process, so other processes on the
   machine do not count); the ratio of medians is the result. On a noisy machine the two loops'
   physics also differ (zero action vs policy actions), so we also report the share of esenas'
   rollout time spent inside ``env.step`` itself (same envs, same actions, one run).
2. Forward pass: µs per env-step of a per-edge Python loop like the original's
   ``NumpyTopologyPolicy.get_action`` vs esenas' vectorized forward (B = 1, and B = ``--batch``
   in lockstep) on the same topology.
"""

from __future__ import annotations

import argparse
import collections
import time

import gymnasium as gym
import numpy as np
from _results import write_result

from esenas_core.plugins import get_registries


def bare_loop(env_id: str, steps: int, horizon: int, random_actions: bool = False) -> float:
    """One env, a fixed zero action (or pre-drawn uniform actions), nothing else per step."""
    env = gym.make(env_id, max_episode_steps=horizon)
    env.reset(seed=0)
    shape = env.action_space.shape
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, (steps, *shape)) if random_actions else np.zeros((steps, *shape))
    start = time.process_time()
    for action in actions:
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset()
    return steps / (time.process_time() - start)


class TimedEnv(gym.Wrapper):
    """Accumulates the wall time spent inside ``env.step`` (for the time-share measurement)."""

    inside = 0.0

    def step(self, action):
        start = time.perf_counter()
        out = self.env.step(action)
        TimedEnv.inside += time.perf_counter() - start
        return out


def time_share(task, space, theta: np.ndarray, batch: int, seed: int) -> float:
    """Share of esenas' rollout wall time spent inside env.step (same envs, same actions)."""
    task._envs[:] = [e if isinstance(e, TimedEnv) else TimedEnv(e) for e in task._envs]
    TimedEnv.inside = 0.0
    start = time.perf_counter()
    esenas_rollouts(task, space, theta, batch, seed, clock=time.perf_counter)
    return TimedEnv.inside / (time.perf_counter() - start)


def esenas_rollouts(task, space, theta, batch, seed, clock=time.process_time) -> float:
    rng = np.random.default_rng(seed)
    genomes = space.decisions.sample(rng, batch)
    params = theta[None, :] + 0.05 * rng.normal(size=(batch, theta.size))
    archs = [space.decode(g) for g in genomes]
    dim = task.spec().obs_dim
    start = clock()
    episodes = task.run_episodes(
        space, params, archs, list(range(batch)), np.zeros(dim), np.ones(dim)
    )
    return sum(e.steps for e in episodes) / (clock() - start)


def original_style_forward(space, theta: np.ndarray, genome: np.ndarray):
    """The original's ``NumpyTopologyPolicy.get_action``: a per-edge loop over an edge dict with
    weights in a dense T×T numpy matrix, one state at a time (its first-hidden-node bug fixed and
    output biases added, so that it computes the same function as esenas)."""
    sizes = space.net.sizes
    total, obs_dim, act_dim = sum(sizes), sizes[0], sizes[-1]
    weight_list = np.zeros((total, total))
    edge_dict = collections.defaultdict(list)
    for e, (src, dst) in enumerate(space.net.edge_list()):
        if e in set(genome.tolist()):
            weight_list[src][dst] = theta[e]
            edge_dict[int(src)].append(int(dst))
    bias_list = np.concatenate([np.zeros(obs_dim), theta[space.num_weights :]])

    def get_action(state: np.ndarray) -> np.ndarray:
        values = [0.0] * total
        for i in range(obs_dim):
            values[i] = state[i]
        for i in range(total):
            if obs_dim <= i < total - act_dim:
                values[i] = np.tanh(values[i] + bias_list[i])
            if i in edge_dict:
                for j in edge_dict[i]:
                    t = weight_list[i][j]
                    values[j] += t * values[i]
        action = np.reshape(values[total - act_dim :], (act_dim, 1)) + bias_list[-act_dim:, None]
        return np.tanh(action)[:, 0]

    return get_action


def time_per_call(fn, arg, repeats: int) -> float:
    fn(arg)
    start = time.process_time()
    for _ in range(repeats):
        fn(arg)
    return (time.process_time() - start) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="HalfCheetah-v5")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--horizon", type=int, default=1000, help="episode length in both loops")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--out", default="bench/results/rollouts.json")
    args = parser.parse_args()

    reg = get_registries()
    task = reg.create(
        "task",
        "gym",
        {"env_id": args.env, "lockstep": args.batch, "max_episode_steps": args.horizon},
    )
    space = reg.create("search_space", "edges", {"hidden": [32, 32], "k": 64}, task.spec())
    theta = space.init_params(np.random.default_rng(0))

    esenas_rollouts(task, space, theta, args.batch, seed=99)  # creates the env pool (not timed)
    bare, bare_random, ours = [], [], []
    for r in range(args.rounds):  # alternate, so drift affects all equally
        steps = args.horizon * args.batch
        bare.append(bare_loop(args.env, steps, args.horizon))
        ours.append(esenas_rollouts(task, space, theta, args.batch, seed=r))
        bare_random.append(bare_loop(args.env, steps, args.horizon, random_actions=True))
    throughput = {
        "bare_zero_action_steps_per_s": float(np.median(bare)),
        "bare_random_actions_steps_per_s": float(np.median(bare_random)),
        "esenas_steps_per_s": float(np.median(ours)),
        "ratio_vs_zero_action": float(np.median(ours) / np.median(bare)),
        "ratio_vs_random_actions": float(np.median(ours) / np.median(bare_random)),
        "rounds": args.rounds,
        "horizon": args.horizon,
        # Same envs, same actions, one run: the share of wall time inside env.step. This is the
        # throughput relative to a loop that does nothing but step these environments.
        "env_step_time_share": float(
            np.median([time_share(task, space, theta, args.batch, 100 + r) for r in range(3)])
        ),
    }

    rng = np.random.default_rng(1)
    genome = space.decisions.sample(rng, 1)[0]
    arch = space.decode(genome)
    original = original_style_forward(space, theta, genome)
    state = rng.normal(size=space.net.sizes[0])
    ref = space.network(theta[None, :], [arch])(state[None, :])[0]
    np.testing.assert_allclose(original(state), ref, rtol=1e-4, atol=1e-5)  # same function
    net1 = space.network(theta[None, :], [arch])
    net16 = space.network(np.repeat(theta[None, :], args.batch, 0), [arch] * args.batch)
    states16 = rng.normal(size=(args.batch, space.net.sizes[0]))
    t_orig = time_per_call(original, state, 1000)
    t_one = time_per_call(net1, state[None, :], 20000)
    t_batch = time_per_call(net16, states16, 20000) / args.batch
    forward = {
        "original_loop_us": t_orig * 1e6,
        "esenas_single_us": t_one * 1e6,
        "esenas_lockstep_us_per_env_step": t_batch * 1e6,
        "speedup_single": t_orig / t_one,
        "speedup_lockstep": t_orig / t_batch,
    }
    result = {
        "env": args.env,
        "space": "edges aggregate, hidden [32, 32], k = 64 of 1760",
        "lockstep_batch": args.batch,
        "throughput": throughput,
        "forward": forward,
    }
    write_result(result, args.out)


if __name__ == "__main__":
    main()

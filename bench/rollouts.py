"""Rollout throughput and forward-pass speed of the NAS policy (issue: search spaces).

    python bench/rollouts.py [--env HalfCheetah-v5] [--rounds 6] [--lockstep 8 4]
                             [--zero-policy] [--out bench/results/rollouts.json]

1. Throughput: env steps/s of esenas rollouts (``gym`` task, ``edges`` space, hidden [32, 32],
   64 edges, random architectures and θ, one lockstep batch of full episodes) against the bare
   environment loop on one env (``gym.make`` with the same arguments, nothing but ``env.step``):
   - *replay*: the bare loop replays the very actions esenas' policies took, episode after
     episode, from the same reset seeds — same physics, so the ratio is esenas' whole cost
     (forward pass, Python loop, observation statistics, stepping several environments in turn);
     the replayed returns are checked against esenas' to the last bit;
   - *zero action*: the bare loop with a fixed zero action for the same number of steps (different
     physics: MuJoCo's cost per step depends on the state, so this ratio is noisier).
   The three loops alternate (their order rotating) for ``--rounds`` rounds in one process, timed
   by this process's CPU time; the result is the ratio of the summed times, with the spread of the
   per-round ratios.
   ``--zero-policy`` also runs esenas' loop with a cost-free stand-in network (zero actions):
   the share of the gap that is the loop itself rather than the forward pass.
2. Forward pass: µs per env-step of a per-edge Python loop like the original's
   ``NumpyTopologyPolicy.get_action`` vs esenas' vectorized forward (B = 1, and B = the lockstep
   batch) on the same topology.
"""

from __future__ import annotations

import argparse
import collections
import itertools
import time
from collections.abc import Iterator

import gymnasium as gym
import numpy as np
from _results import write_result

from esenas_core.api.plugins import get_registries


class Recorder(gym.Wrapper):
    """Keeps the actions of the current episode (for the replay baseline; not timed)."""

    def reset(self, **kwargs):
        self.actions, self.rewards = [], 0.0
        return self.env.reset(**kwargs)

    def step(self, action):
        self.actions.append(np.array(action))
        out = self.env.step(action)
        self.rewards += float(out[1])
        return out


def replay_stream(actions: list[list[np.ndarray]], seeds: list[int]) -> Iterator[tuple]:
    """(action, reset seed or None) of every step of the recorded episodes, one after another."""
    for sequence, seed in zip(actions, seeds, strict=True):
        for t, action in enumerate(sequence):
            yield action, (seed if t == 0 else None)


def bare_steps(env: gym.Env, stream: Iterator[tuple], count: int, returns: list[float]) -> int:
    """The bare loop: up to ``count`` steps of one env, resetting where a recorded episode starts
    (``stream=None``: a fixed zero action, resetting when an episode ends). Returns the steps."""
    if stream is None:
        zero = np.zeros(env.action_space.shape)
        for _ in range(count):
            _, _, terminated, truncated, _ = env.step(zero)
            if terminated or truncated:
                env.reset()
        return count
    done = 0
    for action, seed in itertools.islice(stream, count):
        if seed is not None:
            env.reset(seed=seed)
            returns.append(0.0)
        returns[-1] += float(env.step(action)[1])
        done += 1
    return done


class ZeroPolicy:
    """A stand-in network with no cost: zero actions (``--zero-policy``: what esenas' loop costs
    without any forward pass)."""

    def __init__(self, batch: int, act_dim: int) -> None:
        self.out = np.zeros((batch, act_dim))

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        return self.out[: len(obs)]

    def take(self, rows: np.ndarray) -> ZeroPolicy:
        return ZeroPolicy(len(rows), self.out.shape[1])

    def with_input_normalization(self, mean: np.ndarray, std: np.ndarray) -> ZeroPolicy:
        return self


def throughput(
    env_id: str, horizon: int, batch: int, rounds: int, grain: int, zero_policy: bool = False
) -> dict:
    reg = get_registries()
    options = {"env_id": env_id, "lockstep": batch, "max_episode_steps": horizon}
    task = reg.create("task", "gym", options)
    space = reg.create("search_space", "edges", {"hidden": [32, 32], "k": 64}, task.spec())
    theta = space.init_params(np.random.default_rng(0))
    dim = task.spec().obs_dim
    if zero_policy:
        space.network = lambda params, archs: ZeroPolicy(len(params), task.spec().act_dim)
    bare = {name: gym.make(env_id, max_episode_steps=horizon) for name in ("replay", "zero")}
    bare["zero"].reset(seed=0)
    envs = task._env_pool(batch)  # created before timing, as a worker's cache keeps them
    time_of = {"esenas": 0.0, "replay": 0.0, "zero": 0.0}
    steps_of = dict.fromkeys(time_of, 0)
    pair_ratios: dict[str, list[float]] = {"replay": [], "zero": []}
    for r in range(rounds):
        rng = np.random.default_rng(r)
        genomes = space.decisions.sample(rng, batch)
        params = theta[None, :] + 0.05 * rng.normal(size=(batch, theta.size))
        archs = [space.decode(g) for g in genomes]
        seeds = [1000 * r + i for i in range(batch)]
        task._envs[:] = [Recorder(e) for e in envs]  # record the actions (not timed)
        task.run_episodes(space, params, archs, seeds, np.zeros(dim), np.ones(dim))
        actions = [e.actions for e in task._envs]
        task._envs[:] = envs
        streams = {"replay": replay_stream(actions, seeds), "zero": None}
        replayed: list[float] = []

        # esenas' real rollout code, driven `grain` batched steps at a time, alternating with
        # the bare loops for as many env steps: machine noise hits all sides alike.
        start = time.process_time()
        net = space.network(params, archs).with_input_normalization(np.zeros(dim), np.ones(dim))
        steps = task._lockstep_steps(net, seeds)  # one step at a time, to interleave
        results = None
        while results is None:
            for _ in range(grain):
                results = next(steps)
                if results is not None:
                    break
            ours = time.process_time() - start
            time_of["esenas"] += ours
            for name, stream in streams.items():
                start = time.process_time()
                steps_of[name] += bare_steps(bare[name], stream, grain * batch, replayed)
                elapsed = time.process_time() - start
                time_of[name] += elapsed
                pair_ratios[name].append(elapsed / ours)
            start = time.process_time()
        start = time.process_time()  # the rest of the replay (episodes that ended early)
        steps_of["replay"] += bare_steps(bare["replay"], streams["replay"], 10**9, replayed)
        time_of["replay"] += time.process_time() - start
        if not np.allclose([e.reward for e in results], replayed, rtol=1e-12, atol=1e-9):
            raise AssertionError("the replay did not reproduce esenas' returns")
        steps_of["esenas"] += sum(e.steps for e in results)
    rate = {name: steps_of[name] / time_of[name] for name in time_of}
    return {
        "lockstep": batch,
        "policy": "zero (no forward pass)" if zero_policy else "NAS network",
        "steps_per_s": rate,
        "ratio_vs_replay": rate["esenas"] / rate["replay"],
        "ratio_vs_replay_median_of_pairs": float(np.median(pair_ratios["replay"])),
        "ratio_vs_zero_action": rate["esenas"] / rate["zero"],
        "ratio_vs_zero_action_median_of_pairs": float(np.median(pair_ratios["zero"])),
        "rounds": rounds,
        "pairs": len(pair_ratios["replay"]),
        "esenas_steps": steps_of["esenas"],
    }


def original_style_forward(space, theta: np.ndarray, arch):
    """The original's ``NumpyTopologyPolicy.get_action``: a per-edge loop over an edge dict with
    weights in a dense T×T numpy matrix, one state at a time (its first-hidden-node bug fixed and
    output biases added, so that it computes the same function as esenas)."""
    sizes = space.net.sizes
    total, obs_dim, act_dim = sum(sizes), sizes[0], sizes[-1]
    weight_list = np.zeros((total, total))
    edge_dict = collections.defaultdict(list)
    kept = set(np.flatnonzero(space.edge_mask(arch)).tolist())  # the decoded (repaired) edges
    for e, (src, dst) in enumerate(space.net.edge_list()):
        if e in kept:
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
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--horizon", type=int, default=1000, help="episode length in all loops")
    parser.add_argument(
        "--lockstep", type=int, nargs="+", default=[8], help="lockstep batch sizes to measure"
    )
    parser.add_argument(
        "--grain", type=int, default=4, help="batched steps per alternation (a few ms)"
    )
    parser.add_argument(
        "--zero-policy",
        action="store_true",
        help="also measure the loop with a cost-free zero-action policy (the loop's own share)",
    )
    parser.add_argument("--out", default="bench/results/rollouts.json")
    args = parser.parse_args()

    runs = []
    for b in args.lockstep:
        runs.append(throughput(args.env, args.horizon, b, args.rounds, args.grain))
        if args.zero_policy:
            runs.append(throughput(args.env, args.horizon, b, args.rounds, args.grain, True))

    reg = get_registries()
    task = reg.create("task", "gym", {"env_id": args.env})
    space = reg.create("search_space", "edges", {"hidden": [32, 32], "k": 64}, task.spec())
    theta = space.init_params(np.random.default_rng(0))
    rng = np.random.default_rng(1)
    genome = space.decisions.sample(rng, 1)[0]
    arch = space.decode(genome)
    original = original_style_forward(space, theta, arch)
    state = rng.normal(size=space.net.sizes[0])
    ref = space.network(theta[None, :], [arch])(state[None, :])[0]
    np.testing.assert_allclose(original(state), ref, rtol=1e-4, atol=1e-5)  # same function
    batch = args.lockstep[0]
    net1 = space.network(theta[None, :], [arch])
    net_b = space.network(np.repeat(theta[None, :], batch, 0), [arch] * batch)
    states = rng.normal(size=(batch, space.net.sizes[0]))
    t_orig = time_per_call(original, state, 1000)
    t_one = time_per_call(net1, state[None, :], 20000)
    t_batch = time_per_call(net_b, states, 20000) / batch
    forward = {
        "original_loop_us": t_orig * 1e6,
        "esenas_single_us": t_one * 1e6,
        "esenas_lockstep_batch": batch,
        "esenas_lockstep_us_per_env_step": t_batch * 1e6,
        "speedup_single": t_orig / t_one,
        "speedup_lockstep": t_orig / t_batch,
    }
    result = {
        "env": args.env,
        "space": "edges aggregate, hidden [32, 32], k = 64 of 1760",
        "horizon": args.horizon,
        "throughput": runs,
        "forward": forward,
    }
    write_result(result, args.out)


if __name__ == "__main__":
    main()

"""How two bare environment processes scale on this machine (a reference for the backends).

    python bench/bare_scaling.py [--trials 16] [--steps 10000] [--env HalfCheetah-v5]
                                 [--out bench/results/bare_scaling.json]

No esenas code runs in the timed part. Two persistent worker processes each hold one environment.
A trial times the same work twice, in turn (the order alternating):

- alone: one worker steps its environment ``2 × steps`` times (a fixed zero action);
- pair: both workers step ``steps`` times each, at the same time; the wall time is until the
  slower one is done, as a synchronous ES iteration waits for its slowest worker.

The speed-up is the summed alone times over the summed pair times; the imbalance is how much
longer the slower worker of a pair took than the faster one. It is not an upper bound for
esenas' backends: their rollouts scaled better than this bare loop in the same runs
(docs/benchmarks.md), but it shows how much two identical processes vary here.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import time

import numpy as np
from _results import write_result


def _worker(env_id: str, conn) -> None:
    import gymnasium as gym

    env = gym.make(env_id).unwrapped
    env.reset(seed=0)
    action = np.zeros(env.action_space.shape)
    for _ in range(500):  # warm-up
        env.step(action)
    while (steps := conn.recv()) is not None:
        start = time.perf_counter()
        for _ in range(steps):
            env.step(action)
        conn.send(time.perf_counter() - start)


class Pair:
    """Two persistent worker processes, each with one environment, stepped with a zero action."""

    def __init__(self, env_id: str) -> None:
        ctx = mp.get_context("spawn")
        pipes = [ctx.Pipe() for _ in range(2)]
        self.procs = [ctx.Process(target=_worker, args=(env_id, child)) for _, child in pipes]
        for proc in self.procs:
            proc.start()
        self.conns = [parent for parent, _ in pipes]
        self.turn = 0

    def _run(self, conns, steps: int) -> tuple[float, list[float]]:
        start = time.perf_counter()
        for conn in conns:
            conn.send(steps)
        inner = [conn.recv() for conn in conns]
        return time.perf_counter() - start, inner

    def alone(self, steps: int) -> float:
        """Seconds for one worker (each in turn) to step ``steps`` times."""
        self.turn ^= 1
        return self._run(self.conns[self.turn : self.turn + 1], steps)[0]

    def pair(self, steps: int) -> tuple[float, float]:
        """Seconds until both workers stepped ``steps`` times each, at the same time, and the
        slower one's time over the faster one's."""
        wall, inner = self._run(self.conns, steps)
        return wall, max(inner) / min(inner)

    def close(self) -> None:
        for conn in self.conns:
            conn.send(None)
        for proc in self.procs:
            proc.join()


def measure(env_id: str, trials: int, steps: int) -> tuple[list, list, list]:
    """``trials`` alternating alone/pair timings: (alone seconds, pair seconds, imbalances)."""
    pair_of = Pair(env_id)
    alone, pair, imbalance = [], [], []
    try:
        for trial in range(trials):
            for kind in ("alone", "pair") if trial % 2 == 0 else ("pair", "alone"):
                if kind == "alone":
                    alone.append(pair_of.alone(2 * steps))
                else:
                    wall, ratio = pair_of.pair(steps)
                    pair.append(wall)
                    imbalance.append(ratio)
    finally:
        pair_of.close()
    return alone, pair, imbalance


def summary(alone: list[float], pair: list[float], imbalance: list[float]) -> dict:
    per_trial = [a / p for a, p in zip(alone, pair, strict=True)]
    return {
        "speedup": float(np.sum(alone) / np.sum(pair)),
        "speedup_per_trial_min_median_max": [
            float(np.min(per_trial)),
            float(np.median(per_trial)),
            float(np.max(per_trial)),
        ],
        "pair_imbalance_slower_over_faster_median": float(np.median(imbalance)),
        "pair_imbalance_max": float(np.max(imbalance)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--steps", type=int, default=10000, help="env steps per worker in a pair")
    parser.add_argument("--env", default="HalfCheetah-v5")
    parser.add_argument("--out", default="bench/results/bare_scaling.json")
    args = parser.parse_args()
    alone, pair, imbalance = measure(args.env, args.trials, args.steps)
    write_result(
        {
            "env": args.env,
            "steps_per_worker": args.steps,
            "trials": args.trials,
            **summary(alone, pair, imbalance),
            "seconds_alone": alone,
            "seconds_pair": pair,
        },
        args.out,
    )


if __name__ == "__main__":
    main()

"""Batched evaluation: ES-ENAS end to end on ``classic`` Pendulum-v1 against a bare batched loop.

    python bench/batched.py [--rounds 5] [--gym-rounds 1] [--memory-episodes 65536]
                            [--out bench/results/batched.json]

ES-ENAS: ``edges`` over hidden [16], ``regularized_evolution``, 512 antithetic pairs + 8 exact
evaluations = 1,032 episodes of 200 steps per iteration, ``serial`` backend (and ``processes``
with 2 workers). The bare loop: the same episodes as plain numpy, Pendulum's dynamics and a
[16] tanh policy with its own weights per episode, in float32 as esenas' networks
(``np.einsum``, ``np.tanh``; the dynamics in float64 with ``np.sin``: no esenas code, no
bookkeeping, no per-episode seeding or statistics). The loops alternate for ``--rounds`` rounds
in one process (after one untimed iteration each, which compiles and builds), and each ratio is
of the summed times.

Also measured: the bare loop's own gain from a second core (one process over all episodes
against two processes over half each, at the same time: the most ``processes`` could gain), the
same ES-ENAS iteration on ``gym`` Pendulum-v1 (``--gym-rounds``: it takes
seconds), the peak memory numpy allocates (``tracemalloc``) while one chunk of
``--memory-episodes`` episodes runs in one batch, and for early-terminating environments the
rows a batch steps against the steps its episodes take.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np
from _results import write_result

from esenas_core.api.plugins import get_registries
from esenas_core.engine.experiment import Experiment
from esenas_core.engine.trainer import Trainer
from esenas_core.runs.config import build_config

EPISODES, STEPS, HIDDEN = 1032, 200, 16


def config(task: str, backend: dict) -> dict:
    return {
        "name": "bench",
        "seed": 0,
        "iterations": 1000,
        "task": {"name": task, "env_id": "Pendulum-v1"},
        "search_space": {"name": "edges", "hidden": [HIDDEN]},
        "controller": {"name": "regularized_evolution"},
        "backend": backend,
        "es": {"num_perturbations": 512, "exact_evals": 8},
    }


def trainer(task: str, backend: dict) -> Trainer:
    reg = get_registries()
    return Trainer(Experiment.build(build_config(config(task, backend), reg), reg))


def bare_loop(rng: np.random.Generator) -> float:
    """One batch of EPISODES Pendulum episodes with per-episode [16] tanh policies (mean return)."""
    w1 = rng.normal(0, 0.5, (EPISODES, 3, HIDDEN)).astype(np.float32)
    b1 = rng.normal(0, 0.5, (EPISODES, HIDDEN)).astype(np.float32)
    w2 = rng.normal(0, 0.5, (EPISODES, HIDDEN)).astype(np.float32)
    th = rng.uniform(-np.pi, np.pi, EPISODES)
    thdot = rng.uniform(-1.0, 1.0, EPISODES)
    total = np.zeros(EPISODES)
    for _ in range(STEPS):
        obs = np.stack([np.cos(th), np.sin(th), thdot], axis=1).astype(np.float32)
        h = np.tanh(np.einsum("bi,bij->bj", obs, w1) + b1)
        u = np.clip(2.0 * np.tanh(np.einsum("bj,bj->b", h, w2)), -2.0, 2.0).astype(np.float64)
        norm = ((th + np.pi) % (2 * np.pi)) - np.pi
        total -= norm**2 + 0.1 * thdot**2 + 0.001 * u**2
        thdot = np.clip(thdot + (15.0 * np.sin(th) + 3.0 * u) * 0.05, -8.0, 8.0)
        th = th + thdot * 0.05
    return float(total.mean())


def _bare_worker(episodes: int, rounds: int, start, out) -> None:
    """A process running the bare loop over ``episodes`` episodes ``rounds`` times (after one
    untimed batch), from the moment ``start`` is set; puts its time on ``out``."""
    global EPISODES
    EPISODES = episodes
    rng = np.random.default_rng(0)
    bare_loop(rng)
    start.wait()
    began = time.perf_counter()
    for _ in range(rounds):
        bare_loop(rng)
    out.put(time.perf_counter() - began)


def bare_split(rounds: int) -> dict:
    """The bare loop's own gain from a second core: one process over all EPISODES episodes
    against two processes over half each, at the same time (each side ``rounds`` batches; the
    two-process time is the slower one's)."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")

    def run(processes: int, episodes: int) -> float:
        start, out = ctx.Event(), ctx.Queue()
        procs = [
            ctx.Process(target=_bare_worker, args=(episodes, rounds, start, out))
            for _ in range(processes)
        ]
        for p in procs:
            p.start()
        time.sleep(2.0)  # every process imported and warmed up
        start.set()
        took = max(out.get() for _ in procs)
        for p in procs:
            p.join()
        return took

    one = [run(1, EPISODES) for _ in range(3)]
    two = [run(2, EPISODES // 2) for _ in range(3)]
    return {"one_process_s": one, "two_processes_s": two, "gain": sum(one) / sum(two)}


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def memory_peak(episodes: int) -> dict:
    """Peak bytes numpy allocates while one chunk of ``episodes`` runs as one batch."""
    reg = get_registries()
    task_cls = reg["task"].get("classic").cls
    task = task_cls(task_cls.Options(env_id="Pendulum-v1", batch=episodes))
    space_cls = reg["search_space"].get("edges").cls
    space = space_cls(space_cls.Options(hidden=[HIDDEN]), task.spec())
    rng = np.random.default_rng(0)
    archs = [space.decode(g) for g in space.decisions.sample(rng, episodes)]
    tracemalloc.start()
    params = rng.normal(0, 0.1, (episodes, space.num_params))
    start = time.perf_counter()
    results = task.run_episodes(
        space, params, archs, list(range(episodes)), np.zeros(3), np.ones(3)
    )
    took = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(results) == episodes
    return {"episodes": episodes, "peak_bytes": peak, "peak_gib": peak / 2**30, "seconds": took}


def compaction(episodes: int = 1024) -> dict:
    """Rows stepped ÷ steps the episodes took, for random [8] dense policies on the
    early-terminating environments (finished episodes leave the arrays at half the batch)."""
    from esenas_core.api.vector import rollout

    reg = get_registries()
    task_cls = reg["task"].get("classic").cls
    space_cls = reg["search_space"].get("dense").cls
    out = {}
    for env_id in ("CartPole-v1", "Acrobot-v1", "MountainCar-v0"):
        env = task_cls(task_cls.Options(env_id=env_id)).env
        stepped = [0]
        plain_step = env.step

        def step(state, actions, plain_step=plain_step, stepped=stepped):
            stepped[0] += len(actions)
            return plain_step(state, actions)

        env.step = step  # type: ignore[method-assign]
        space = space_cls(space_cls.Options(hidden=[8]), env.spec())
        rng = np.random.default_rng(0)
        archs = [space.decode(g) for g in space.decisions.sample(rng, episodes)]
        net = space.network(rng.normal(0, 1.0, (episodes, space.num_params)), archs)
        taken = sum(r.steps for r in rollout(env, net, list(range(episodes))))
        out[env_id] = {"rows_stepped": stepped[0], "steps_taken": taken,
                       "ratio": stepped[0] / taken}  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--gym-rounds", type=int, default=1)
    parser.add_argument("--memory-episodes", type=int, default=65536)
    parser.add_argument("--out", default="bench/results/batched.json")
    args = parser.parse_args()

    serial = trainer("classic", {"name": "serial"})
    pool = trainer("classic", {"name": "processes", "workers": 2})
    gym_run = trainer("gym", {"name": "serial"})
    rng = np.random.default_rng(0)
    for warm in (serial.step, pool.step, gym_run.step, lambda: bare_loop(rng)):
        warm()  # compile, build environments, start workers
    times: dict[str, list[float]] = {"bare": [], "serial": [], "processes": [], "gym": []}
    for r in range(args.rounds):
        times["bare"].append(timed(lambda: bare_loop(rng)))
        times["serial"].append(timed(serial.step))
        times["processes"].append(timed(pool.step))
        if r < args.gym_rounds:
            times["gym"].append(timed(gym_run.step))
    pool.exp.backend.close()
    per_iteration = {k: float(np.sum(v) / len(v)) for k, v in times.items()}
    eps = {k: EPISODES / t for k, t in per_iteration.items()}
    result = {
        "episodes_per_iteration": EPISODES,
        "steps_per_episode": STEPS,
        "seconds_per_iteration": per_iteration,
        "episodes_per_s": eps,
        "serial_vs_bare": eps["serial"] / eps["bare"],
        "processes_vs_serial": eps["processes"] / eps["serial"],
        "serial_vs_gym": eps["serial"] / eps["gym"],
        "rounds": times,
        "bare_two_process_gain": bare_split(args.rounds * 4),
        "memory": memory_peak(args.memory_episodes),
        "compaction": compaction(),
    }
    write_result(result, args.out)
    print(
        f"episodes/s: bare {eps['bare']:.0f}, serial {eps['serial']:.0f}"
        f" ({result['serial_vs_bare']:.2f}x bare), processes {eps['processes']:.0f}"
        f" ({result['processes_vs_serial']:.2f}x serial; the bare loop split over 2 processes:"
        f" {result['bare_two_process_gain']['gain']:.2f}x), gym {eps['gym']:.0f}"
        f" (serial {result['serial_vs_gym']:.1f}x gym); memory of"
        f" {args.memory_episodes} episodes: {result['memory']['peak_gib']:.2f} GiB"
    )


if __name__ == "__main__":
    main()

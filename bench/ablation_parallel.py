"""``esenas ablate --workers 2`` against a sequential study, with the machine's bare 2-process gain.

    python bench/ablation_parallel.py [--env HalfCheetah-v5] [--iterations 4] [--repeats 2]
                                      [--bare-trials 8] [--out bench/results/ablation_parallel.json]

A study of 6 short MuJoCo runs (a dense linear policy and 90 %-pruned [32, 32] edges, 3 seeds
each; 8 antithetic pairs + 2 exact evaluations per iteration; every run on the ``serial``
backend) runs as real ``esenas ablate`` commands, sequentially and with ``--workers 2``, in
alternating order (``seq, par, par, seq, …``), each into a fresh folder; wall time is the whole
command. Both must compute the same numbers (checked). In the same run, ``bare_scaling.measure``
measures how much two bare environment processes gain on this machine, no esenas code involved.
Target: ≥ 1.8×, or ≥ 95 % of the bare gain where that is below 1.8×.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tomli_w
from _results import write_result
from bare_scaling import measure
from bare_scaling import summary as bare_summary

from esenas_core.engine.metrics import TIMING_COLUMNS

TIMING = set(TIMING_COLUMNS)


def write_study(folder: Path, env_id: str, iterations: int) -> Path:
    study = {
        "name": "bench",
        "seeds": [0, 1, 2],
        "base": {
            "iterations": iterations,
            "task": {"name": "gym", "env_id": env_id},
            "backend": {"name": "serial"},
            "controller": {"name": "regularized_evolution"},
            "es": {"num_perturbations": 8, "exact_evals": 2, "sigma": 0.05},
        },
        "variants": {
            "dense_linear": {"search_space.name": "dense", "search_space.dense.hidden": []},
            "edges_pruned": {
                "search_space.name": "edges",
                "search_space.edges.hidden": [32, 32],
                "search_space.edges.k": 176,
            },
        },
    }
    path = folder / "study.toml"
    path.write_text(tomli_w.dumps(study))
    return path


def timed_ablate(study: Path, out: Path, workers: int) -> float:
    command = [
        sys.executable,
        "-m",
        "esenas_core.cli.main",
        "ablate",
        str(study),
        "--out",
        str(out),
    ]
    start = time.perf_counter()
    command += ["--quiet", "--workers", str(workers)]
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def contents(folder: Path) -> dict[str, list[dict[str, str]]]:
    out = {}
    for run in sorted((folder / "runs").glob("*-seed*")):
        with open(run / "metrics.csv", newline="") as fh:
            out[run.name] = [
                {k: v for k, v in r.items() if k not in TIMING} for r in csv.DictReader(fh)
            ]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="HalfCheetah-v5")
    parser.add_argument("--iterations", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--bare-trials", type=int, default=8)
    parser.add_argument("--bare-steps", type=int, default=10000)
    parser.add_argument("--out", default="bench/results/ablation_parallel.json")
    args = parser.parse_args()
    sequential, parallel = [], []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        study = write_study(root, args.env, args.iterations)
        reference = None
        for r in range(args.repeats):
            order = ("seq", "par") if r % 2 == 0 else ("par", "seq")
            for kind in order:
                out = root / f"{kind}{r}"
                seconds = timed_ablate(study, out, 1 if kind == "seq" else 2)
                (sequential if kind == "seq" else parallel).append(seconds)
                got = contents(out)
                assert reference is None or got == reference, "parallel and sequential differ"
                reference = got
                print(f"{kind} repeat {r}: {seconds:.1f} s", flush=True)
    alone, both, imbalance = measure(args.env, args.bare_trials, args.bare_steps)
    speedup = float(np.sum(sequential) / np.sum(parallel))
    bare = bare_summary(alone, both, imbalance)
    write_result(
        {
            "env": args.env,
            "runs": 6,
            "iterations_per_run": args.iterations,
            "repeats": args.repeats,
            "seconds_sequential": sequential,
            "seconds_workers_2": parallel,
            "speedup_workers_2": speedup,
            "bare_two_process_speedup": bare["speedup"],
            "share_of_bare_gain": (speedup - 1) / (bare["speedup"] - 1)
            if bare["speedup"] > 1
            else None,
            "target": "speedup ≥ 1.8, or ≥ 95 % of the bare gain where the bare gain is < 1.8",
            "results_identical": True,
        },
        args.out,
    )


if __name__ == "__main__":
    main()

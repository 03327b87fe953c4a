"""Mutated and damaged configs through the real ``esenas run`` command line, one subprocess each.

    python tests/fuzz_cli.py [--cases 300] [--seed 0] [--jobs 2]

Three kinds of case, drawn from a seeded generator: one leaf of a valid config replaced by a
nasty value (``fuzzing.nasty_value``), a ``--set KEY=VALUE`` override with a nasty string, and the
config file's bytes damaged (cut, a byte replaced, invalid UTF-8, binary garbage). Each runs in
its own empty folder, without ``--run-dir``, so the run's ``name`` decides where its folder goes.
A case passes when the command either

- exits 2 with exactly one line on stderr and leaves nothing behind (no file besides the config,
  nothing outside its folder); or
- exits 0, or has started its run (its folder and ``config.toml`` written, which happens only
  after the whole config validated) and is still going after ``RUNNING_S`` seconds, and then stops
  on Ctrl-C with status 130 and one line (a valid config with a long budget, such as a million
  perturbations per iteration).

A traceback, another exit status, or neither an exit nor a started run within ``HANG_S`` seconds
fails it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w
from conftest import ESENAS, cli_env
from fuzzing import BASE, PATHS, mutate, nasty_value

RUNNING_S = 8.0  # a started run still going after this long is interrupted (Ctrl-C)
HANG_S = 60.0  # no exit and no started run after this long: a hang

SET_VALUES = [
    "", "nan", "inf", "-inf", "1e999", "99999999999999999999999", "[1,", "{a=1}", "[]", "{}",
    '"x"', "'", "true", "-1", "0", "1.5", "[0, 0]", "processes", "dask", "ﬁ", "a=b", "[[1]]",
]  # fmt: skip


def make_case(rng: np.random.Generator) -> dict[str, Any]:
    """A case: the config's bytes, extra CLI arguments and a label."""
    kind = ["leaf", "leaf", "leaf", "set", "bytes"][rng.integers(5)]
    path = PATHS[rng.integers(len(PATHS))]
    if kind == "leaf":
        value = nasty_value(rng)
        text = tomli_w.dumps(mutate(path, value)).encode()
        return {"kind": kind, "label": f"{'.'.join(path)} = {value!r}", "config": text, "args": []}
    text = tomli_w.dumps(BASE).encode()
    if kind == "set":
        value = SET_VALUES[rng.integers(len(SET_VALUES))]
        arg = f"{'.'.join(path)}={value}"
        return {"kind": kind, "label": f"--set {arg}", "config": text, "args": ["--set", arg]}
    how = ["cut", "byte", "utf8", "binary"][rng.integers(4)]
    if how == "cut":
        text = text[: rng.integers(len(text))]
    elif how == "byte":
        at = rng.integers(len(text))
        text = text[:at] + bytes([rng.integers(256)]) + text[at + 1 :]
    elif how == "utf8":
        at = rng.integers(len(text))
        text = text[:at] + b"\xff\xfe\xc3" + text[at:]
    else:
        text = rng.integers(0, 256, size=rng.integers(1, 200), dtype=np.uint8).tobytes()
    return {"kind": kind, "label": f"config bytes: {how}", "config": text, "args": []}


def run_case(case: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Run one case in ``folder`` (empty, created here); return its outcome, ``problem`` set when
    it failed."""
    folder.mkdir(parents=True)
    (folder / "config.toml").write_bytes(case["config"])
    outside = sorted(os.listdir(folder.parent))
    proc = subprocess.Popen(
        [*ESENAS, "run", "config.toml", "--quiet", *case["args"]],
        cwd=folder,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    start, interrupted = time.monotonic(), False
    while proc.poll() is None:
        elapsed = time.monotonic() - start
        if elapsed > RUNNING_S and _started(folder):
            proc.send_signal(signal.SIGINT)
            interrupted = True
            break
        if elapsed > HANG_S:
            os.killpg(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.05)
    try:
        _, stderr = proc.communicate(timeout=HANG_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        _, stderr = proc.communicate()
    outcome = {
        "kind": case["kind"],
        "label": case["label"],
        "rc": proc.returncode,
        "seconds": round(time.monotonic() - start, 2),
        "stderr": stderr[-400:],
        "problem": None,
    }
    lines = stderr.strip().splitlines()
    left = sorted(p.name for p in folder.iterdir())
    if "Traceback" in stderr:
        outcome["problem"] = "traceback"
    elif sorted(os.listdir(folder.parent)) != outside:
        outcome["problem"] = "wrote outside its folder"
    elif proc.returncode == 2:
        if len(lines) != 1 or not lines[0].startswith("esenas: error: "):
            outcome["problem"] = "exit 2 without exactly one error line"
        elif left != ["config.toml"]:
            outcome["problem"] = f"exit 2 left {left}"
    elif proc.returncode == 0:
        if not list(folder.glob("runs/*/final/weights.npz")):
            outcome["problem"] = "exit 0 without final/weights.npz"
    elif interrupted and proc.returncode == 130:
        if len(lines) != 1:
            outcome["problem"] = "interrupted without exactly one line"
    elif not interrupted and time.monotonic() - start > HANG_S:
        outcome["problem"] = "hang"
    else:
        outcome["problem"] = f"exit status {proc.returncode}"
    return outcome


def _started(folder: Path) -> bool:
    return any(folder.glob("runs/*/config.toml"))


def fuzz(cases: int, seed: int, out: Path, jobs: int = 2) -> list[dict[str, Any]]:
    """Run ``cases`` cases under ``out`` (each in its own folder ``out/group/case-N``)."""
    rng = np.random.default_rng(seed)
    made = [make_case(rng) for _ in range(cases)]
    with ThreadPoolExecutor(jobs) as pool:
        return list(
            pool.map(lambda n: run_case(made[n], out / f"group-{n}" / f"case-{n}"), range(cases))
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("fuzz-cli"))
    args = parser.parse_args()
    outcomes = fuzz(args.cases, args.seed, args.out, args.jobs)
    problems = [o for o in outcomes if o["problem"]]
    counts: dict[str, int] = {}
    for o in outcomes:
        key = f"exit {o['rc']}" + (" (interrupted)" if o["rc"] == 130 else "")
        counts[key] = counts.get(key, 0) + 1
    print(json.dumps({"cases": len(outcomes), "outcomes": counts, "problems": problems}, indent=1))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()

"""Damaged run folders through ``esenas evaluate``, ``report``, ``run --resume`` and ``ablate``.

    python tests/fuzz_runs.py [--cases 240] [--seed 0]

One real run (and a one-run study) is made first; each case copies it, damages one thing — a
field of a JSON file set to a nasty value or removed, an array of an ``.npz`` replaced (strings,
NaN, wrong shape, zeros, negative values), a file cut, emptied, filled with garbage, removed or
made a folder, a CSV cell or header changed — and runs one command on the copy. The commands
run in-process through the real click entry point (``esenas_core.cli.main.main``), each under a
60 s alarm. A case passes when the command exits 0, or exits 2 printing exactly one line
``esenas: error: …`` (``ablate``: or 1 with one line naming the runs that failed); a traceback,
another status or the alarm fails it.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w
from click.testing import CliRunner
from conftest import small_config

from esenas_core.cli.main import main

CONFIG = small_config(
    iterations=2,
    checkpoint_every=1,
    task={"name": "hybrid", "obs_dim": 3, "act_dim": 2},
    search_space={"name": "edges", "hidden": [4], "k": 6},
)
CONFIG["task"] = {"name": "hybrid", "obs_dim": 3, "act_dim": 2}
CONFIG["es"]["optimizer"] = "adam"  # optimizer moments in the checkpoint too
NASTY: list[Any] = [
    "x", "", None, True, -5, -1, 0, 2**70, 1e308, -1e308, math.nan, math.inf, [], [1, "a"],
    {}, {"a": 1}, [[1, 2], [3]], 1.5, "nan",
]  # fmt: skip
ALL = [
    "best/architecture.json", "checkpoint/state.json", "esenas.json", "best/weights.npz",
    "final/weights.npz", "checkpoint/arrays.npz", "metrics.csv", "config.toml",
]  # fmt: skip
READS = {  # the files each command reads: damage goes there
    "evaluate": ["best/architecture.json", "best/weights.npz", "config.toml"],
    "report": ["best/architecture.json", "best/weights.npz", "metrics.csv", "config.toml"],
    "resume": ["checkpoint/state.json", "checkpoint/arrays.npz", "metrics.csv", "esenas.json",
               "config.toml"],
    "ablate": ALL,
}  # fmt: skip
COMMANDS = list(READS)


class Hang(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise Hang


def make_base(folder: Path) -> tuple[Path, Path]:
    """A finished run (``folder/run``) and a finished one-run study (``folder/study``)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "c.toml").write_text(tomli_w.dumps(CONFIG))
    runner = CliRunner()
    res = runner.invoke(main, ["run", str(folder / "c.toml"), "--run-dir", str(folder / "run"),
                               "--quiet"])  # fmt: skip
    assert res.exit_code == 0, res.output
    study = {"name": "s", "base": CONFIG, "seeds": [0], "variants": {"v": {"es.sigma": 0.1}}}
    (folder / "study.toml").write_text(tomli_w.dumps(study))
    res = runner.invoke(main, ["ablate", str(folder / "study.toml"), "--out",
                               str(folder / "study"), "--quiet"])  # fmt: skip
    assert res.exit_code == 0, res.output
    return folder / "run", folder / "study"


def _json_damage(rng: np.random.Generator, path: Path) -> str:
    data = json.loads(path.read_text())
    keys = _paths(data)
    key = keys[rng.integers(len(keys))]
    node = data
    for part in key[:-1]:
        node = node[part]
    if rng.random() < 0.15:
        del node[key[-1]]
        path.write_text(json.dumps(data))
        return f"{path.name}: {'.'.join(map(str, key))} removed"
    value = NASTY[rng.integers(len(NASTY))]
    node[key[-1]] = value
    path.write_text(json.dumps(data))
    return f"{path.name}: {'.'.join(map(str, key))} = {value!r}"


def _paths(data: Any, prefix: tuple = ()) -> list[tuple]:
    out: list[tuple] = []
    if isinstance(data, dict):
        for k, v in data.items():
            out.append((*prefix, k))
            if len(prefix) < 4:
                out += _paths(v, (*prefix, k))
    elif isinstance(data, list) and data and len(prefix) < 4:
        out.append((*prefix, 0))
    return out or [prefix]


def _npz_damage(rng: np.random.Generator, path: Path) -> str:
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    key = sorted(arrays)[rng.integers(len(arrays))]
    a = arrays[key]
    kinds: list[tuple[str, Callable[[], Any]]] = [
        ("strings", lambda: np.array(["x"] * max(a.size, 1))),
        ("nan", lambda: np.full(a.shape, np.nan)),
        ("inf", lambda: np.full(a.shape, -np.inf)),
        ("zeros", lambda: np.zeros(a.shape)),
        ("negative", lambda: -np.abs(a) - 1.0),
        ("short", lambda: a.ravel()[:-1]),
        ("2-d", lambda: a.reshape(1, -1)),
        ("empty", lambda: np.zeros(0)),
        ("bool", lambda: np.ones(a.shape, dtype=bool)),
        ("complex", lambda: a.astype(np.complex128)),
        ("removed", lambda: None),
    ]
    name, make = kinds[rng.integers(len(kinds))]
    value = make()
    if value is None:
        del arrays[key]
    else:
        arrays[key] = value
    np.savez(path, **arrays)
    return f"{path.name}: {key} {name}"


def _bytes_damage(rng: np.random.Generator, path: Path) -> str:
    raw = path.read_bytes()
    kind = ["cut", "empty", "garbage", "nul", "removed", "folder", "byte"][rng.integers(7)]
    if kind == "cut":
        path.write_bytes(raw[: int(rng.integers(max(len(raw), 1)))])
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "garbage":
        path.write_bytes(rng.bytes(int(rng.integers(1, 400))))
    elif kind == "nul":
        path.write_bytes(raw[: len(raw) // 2] + b"\0" * 8 + raw[len(raw) // 2 :])
    elif kind == "removed":
        path.unlink()
    elif kind == "folder":
        path.unlink()
        path.mkdir()
    else:
        pos = int(rng.integers(max(len(raw), 1)))
        path.write_bytes(raw[:pos] + bytes([int(rng.integers(256))]) + raw[pos + 1 :])
    return f"{path.name}: {kind}"


def _csv_damage(rng: np.random.Generator, path: Path) -> str:
    lines = path.read_text().splitlines()
    row = int(rng.integers(len(lines)))
    cells = lines[row].split(",")
    col = int(rng.integers(len(cells)))
    value = ["x", "", "nan", "1e999", "-1", "0.5", "\"", "a,b"][rng.integers(8)]
    cells[col] = value
    lines[row] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    return f"{path.name}: row {row + 1} col {col + 1} = {value!r}"


def damage(rng: np.random.Generator, run_dir: Path, names: list[str]) -> str:
    """Damage one thing in one of the files ``names`` of ``run_dir``; returns what."""
    name = names[rng.integers(len(names))]
    path = run_dir / name
    if rng.random() < 0.3 or name == "config.toml":
        return f"{name}: {_bytes_damage(rng, path)}"
    if name.endswith(".json"):
        return _json_damage(rng, path)
    if name.endswith(".npz"):
        return _npz_damage(rng, path)
    return _csv_damage(rng, path)


def run_case(command: str, folder: Path, run: Path, study: Path) -> tuple[int, str]:
    if command == "evaluate":
        args = ["evaluate", str(run), "--episodes", "2"]
    elif command == "report":
        args = ["report", str(run)]
    elif command == "resume":
        args = ["run", "--resume", str(run), "--set", "iterations=3", "--quiet"]
    else:
        args = ["ablate", str(folder / "study.toml"), "--out", str(study), "--quiet"]
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(60)
    try:
        res = CliRunner().invoke(main, args)
    finally:
        signal.alarm(0)
    if isinstance(res.exception, Hang):
        return -1, "hang"
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        import traceback

        return 1, "".join(traceback.format_exception(res.exception))[-1500:]
    return res.exit_code, res.stderr


def fuzz(cases: int, seed: int, out: Path) -> list[dict[str, Any]]:
    make_base(out / "base")
    rng = np.random.default_rng(seed)
    outcomes = []
    for i in range(cases):
        command = COMMANDS[i % len(COMMANDS)]
        folder = out / f"case{i}"
        shutil.copytree(out / "base", folder)
        run, study = folder / "run", folder / "study"
        target = next(p for p in (study / "runs").iterdir()) if command == "ablate" else run
        what = damage(rng, target, READS[command])
        rc, err = run_case(command, folder, run, study)
        lines = err.strip().splitlines()
        one_line = len(lines) == 1
        ok = rc == 0 or (rc == 2 and one_line and lines[0].startswith("esenas: error:"))
        # a study whose damaged run failed: the tables hold the others, one line says which
        ok = ok or (command == "ablate" and rc == 1 and one_line and "run(s) failed" in err)
        outcomes.append({"case": i, "command": command, "damage": what, "rc": rc,
                         "stderr": err[-600:], "problem": not ok})  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)
    return outcomes


if __name__ == "__main__":
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=240)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = fuzz(args.cases, args.seed, Path(tmp))
    bad = [r for r in results if r["problem"]]
    for r in bad:
        print(json.dumps(r))
    print(f"{len(results) - len(bad)} passed, {len(bad)} failed")

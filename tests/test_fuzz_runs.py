"""Damaged or received run folders: every file read is checked, one line naming the file and the
field, never a traceback, a hang or a silently accepted value (issue 25 §4)."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fuzz_runs import fuzz, make_base, run_case

pytestmark = pytest.mark.slow  # subprocesses, worker pools, dask or MuJoCo: `make test` only


@pytest.mark.slow
def test_damaged_run_folders_exit_cleanly(tmp_path: Path) -> None:
    outcomes = fuzz(cases=240, seed=0, out=tmp_path)
    problems = [o for o in outcomes if o["problem"]]
    assert not problems, problems[:5]
    for command in ("evaluate", "report", "resume", "ablate"):
        codes = {o["rc"] for o in outcomes if o["command"] == command}
        assert 2 in codes, command  # each command meets damage it refuses


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fuzz-base")
    make_base(folder / "base")
    return folder / "base"


def _copy(base: Path, tmp_path: Path) -> Path:
    shutil.copytree(base, tmp_path / "c")
    return tmp_path / "c"


def _set_json(path: Path, key: str, value: Any) -> None:
    data = json.loads(path.read_text())
    node = data
    *parents, last = key.split(".")
    for part in parents:
        node = node[part]
    node[last] = value
    path.write_text(json.dumps(data))


def _set_array(path: Path, key: str, make: Any) -> None:
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays[key] = make(arrays[key])
    np.savez(path, **arrays)


NAN = lambda a: np.full(a.shape, np.nan)  # noqa: E731
TEXT = lambda a: np.array(["x"] * a.size)  # noqa: E731
ZERO = lambda a: np.zeros(a.shape)  # noqa: E731
NEGATIVE = lambda a: -np.abs(a) - 1  # noqa: E731
SHORT = lambda a: a[:-1]  # noqa: E731
ARCH, BEST, STATE, ARRAYS = (
    "best/architecture.json", "best/weights.npz", "checkpoint/state.json", "checkpoint/arrays.npz"
)
CASES = [
    ("evaluate", ARCH, "score", "x", "score: expected a number"),
    ("evaluate", BEST, "theta", NAN, "theta: contains NaN"),
    ("evaluate", BEST, "theta", TEXT, "theta: expected an array of numbers"),
    ("evaluate", BEST, "obs_std", ZERO, "obs_std: expected values > 0"),
    ("report", ARCH, "architecture.genome", {"a": 1}, "architecture.genome: expected a list"),
    ("report", ARCH, "score", "x", "score: expected a number"),
    ("resume", STATE, "iteration", -5, "iteration: expected an integer ≥ 0"),
    ("resume", ARRAYS, "obs_m2", NEGATIVE, "obs_m2: expected values ≥ 0"),
    ("resume", ARRAYS, "theta", SHORT, "best_theta: expected shape"),
    ("resume", ARRAYS, "estimator_v", NAN, "estimator_v: contains NaN"),
    ("resume", ARRAYS, "estimator_m", SHORT, "estimator_m/v: expected shape"),
]  # fmt: skip


@pytest.mark.parametrize(("command", "name", "key", "value", "message"), CASES)
def test_named_damage_is_one_line(
    base: Path, tmp_path: Path, command: str, name: str, key: str, value: Any, message: str
) -> None:
    folder = _copy(base, tmp_path)
    path = folder / "run" / name
    if name.endswith(".npz"):
        _set_array(path, key, value)
    else:
        _set_json(path, key, value)
    started = time.monotonic()
    rc, err = run_case(command, folder, folder / "run", folder / "study")
    assert rc == 2 and err.count("\n") == 1 and message in err, err
    assert str(path.relative_to(folder).parent) in err
    assert time.monotonic() - started < 120  # no loop (iteration -5 once looped forever)


@pytest.mark.parametrize("damage", ["cut", "binary", "x"])
def test_report_reads_metrics_strictly(base: Path, tmp_path: Path, damage: str) -> None:
    folder = _copy(base, tmp_path)
    path = folder / "run" / "metrics.csv"
    text = path.read_text()
    if damage == "cut":  # a row cut mid-way: left out, as --resume does
        path.write_text(text[: len(text) - 7])
    elif damage == "binary":
        path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe" * 20)
    else:
        lines = text.splitlines()
        header = lines[0].split(",")
        cells = lines[1].split(",")
        cells[header.index("score_mean")] = "x"
        path.write_text("\n".join([lines[0], ",".join(cells), *lines[2:]]) + "\n")
    rc, err = run_case("report", folder, folder / "run", folder / "study")
    if damage == "cut":
        assert rc == 0, err
    else:
        assert rc == 2 and err.count("\n") == 1 and "metrics.csv" in err, err


def test_resume_prints_the_scheduler_address_before_connecting(base: Path, tmp_path: Path):
    from conftest import esenas

    folder = _copy(base, tmp_path)
    res = esenas("run", "--resume", str(folder / "run"), "--force", "--set", "iterations=3",
                 "--set", "backend.name=dask", "--set", "backend.address=tcp://127.0.0.1:9",
                 "--set", "backend.connect_timeout=2", "--quiet")  # fmt: skip
    assert "backend dask (tcp://127.0.0.1:9)" in res.stdout, res.stdout
    assert res.returncode == 2 and res.stderr.count("\n") == 1, res.stderr

"""The `esenas` command line, run as real subprocesses."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import tomli_w
from conftest import esenas, small_config

pytestmark = pytest.mark.slow  # subprocesses, worker pools, dask or MuJoCo: `make test` only


def write_config(path: Path, data: dict) -> Path:
    path.write_text(tomli_w.dumps(data))
    return path


def test_plugins_lists_every_builtin_with_its_package() -> None:
    out = esenas("plugins")
    assert out.returncode == 0, out.stderr
    for kind, name in [
        ("search_space", "edges"),
        ("controller", "random"),
        ("controller", "regularized_evolution"),
        ("backend", "serial"),
        ("task", "gym"),
    ]:
        assert f"{kind}:" in out.stdout
        assert any(line.split()[:2] == [name, "[esenas]"] for line in out.stdout.splitlines()), name


def test_run_end_to_end_learns_and_writes_outputs(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "c.toml",
        small_config(iterations=8, task={"max_episode_steps": 200}, es={"num_perturbations": 8}),
    )
    run_dir = tmp_path / "run"
    out = esenas("run", str(config), "--run-dir", str(run_dir), "--quiet")
    assert out.returncode == 0, out.stderr
    assert "score (mean of 2 exact evals at θ): first iteration" in out.stdout
    assert (
        "best architecture: 20 of 48 candidate edges (20 live: 20 multiplications per action)"
        in out.stdout
    )
    rows = list(csv.DictReader((run_dir / "metrics.csv").open()))
    assert [int(r["iteration"]) for r in rows] == list(range(1, 9))
    first, last = float(rows[0]["score_mean"]), float(rows[-1]["score_mean"])
    assert last > 2 * first, (first, last)
    for name in ["config.toml", "best/architecture.json", "best/weights.npz", "final/weights.npz"]:
        assert (run_dir / name).is_file(), name
    # The resolved config is complete and runnable as is.
    assert "population_size = 8" in (run_dir / "config.toml").read_text()


def test_set_switches_controller(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", small_config(iterations=2))
    out = esenas(
        "run",
        str(config),
        "--set",
        "controller.name=random",
        "--run-dir",
        str(tmp_path / "run"),
        "--quiet",
    )
    assert out.returncode == 0, out.stderr
    assert "controller random" in out.stdout
    assert 'name = "random"' in (tmp_path / "run" / "config.toml").read_text()


BAD = {
    "unknown plugin": ({"controller": {"name": "evolution"}}, [], "unknown controller 'evolution'"),
    "unknown key": ({"es": {"sigmaa": 0.1}}, [], "unknown key 'sigmaa' (did you mean 'sigma'?)"),
    "mistyped value": (
        {},
        ["--set", "search_space.k=many"],
        "[search_space] edges.k: expected an integer, got 'many'",
    ),
    "k too large": (
        {},
        ["--set", "search_space.k=5000"],
        "k=5000 is larger than the number of candidate edges (48)",
    ),
    "unknown env": ({"task": {"env_id": "NoSuchEnv-v9"}}, [], "cannot make env_id 'NoSuchEnv-v9'"),
    "bad override": ({}, ["--set", "es.sigma"], "expected KEY=VALUE"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_line_exit_2_no_run_dir(tmp_path: Path, case: str) -> None:
    sections, extra, message = BAD[case]
    config = write_config(tmp_path / "c.toml", small_config(**sections))
    run_dir = tmp_path / "run"
    out = esenas("run", str(config), *extra, "--run-dir", str(run_dir), "--quiet")
    assert out.returncode == 2
    assert message in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "Traceback" not in out.stderr
    assert not run_dir.exists()


def test_missing_file_and_bad_toml(tmp_path: Path) -> None:
    out = esenas("run", str(tmp_path / "missing.toml"), "--run-dir", str(tmp_path / "r"))
    assert out.returncode == 2 and "no such config file" in out.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text("iterations = = 3\n")
    out = esenas("run", str(bad), "--run-dir", str(tmp_path / "r"))
    assert out.returncode == 2 and "invalid TOML" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()

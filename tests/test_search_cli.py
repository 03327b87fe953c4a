"""The ask/tell example against `esenas run` (real subprocesses, real worker pools), stopping
rules and the run manifest on the command line."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import tomli_w
from conftest import REPO, cli_env, esenas, small_config

from esenas_core.engine.metrics import without_timings

pytestmark = pytest.mark.slow  # subprocesses and worker pools: `make test` only


def write_config(folder: Path, **sections) -> Path:
    sections.setdefault("iterations", 3)
    data = small_config(
        task={"name": "classic", "env_id": "Pendulum-v1", "max_episode_steps": 50},
        search_space={"name": "edges", "edges": {"hidden": [8], "k": 12}},
        **sections,
    )
    data["task"].pop("gym", None)
    path = folder / "config.toml"
    path.write_text(tomli_w.dumps(data))
    return path


def metrics(run_dir: Path) -> list[dict]:
    with open(run_dir / "metrics.csv", newline="") as fh:
        return [without_timings(row) for row in csv.DictReader(fh)]


@pytest.mark.parametrize(
    "backend",
    [{"name": "serial"}, {"name": "processes", "workers": 2}, {"name": "dask", "workers": 2}],
    ids=["serial", "processes", "dask"],
)
def test_the_ask_tell_example_equals_esenas_run(tmp_path: Path, backend: dict) -> None:
    config = write_config(tmp_path, backend=backend)
    done = esenas("run", str(config), "--run-dir", str(tmp_path / "cli"), "--quiet")
    assert done.returncode == 0, done.stderr
    example = subprocess.run(
        [sys.executable, str(REPO / "examples" / "ask_tell.py"), str(config), str(tmp_path / "py")],
        capture_output=True, text=True, env=cli_env(), timeout=600, cwd=tmp_path,
    )  # fmt: skip
    assert example.returncode == 0, example.stderr
    assert len(metrics(tmp_path / "cli")) == 3
    assert metrics(tmp_path / "py") == metrics(tmp_path / "cli")
    for name in ("checkpoint/arrays.npz", "final/weights.npz", "best/weights.npz"):
        assert (tmp_path / "py" / name).exists(), name
    lines = (REPO / "examples" / "ask_tell.py").read_text().splitlines()
    loop = lines[lines.index("def main(config: str, out_dir: str) -> None:") :]
    assert len([x for x in loop if x.strip() and not x.strip().startswith("#")]) <= 30


def test_a_stopping_rule_ends_the_cli_run_and_resume_keeps_it(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    run = tmp_path / "run"
    done = esenas(
        "run", str(config), "--run-dir", str(run), "--quiet",
        "--set", "iterations=50", "--set", "stop.episodes=30",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "stopped by episodes" in done.stdout
    assert len(metrics(run)) == 3  # 14 episodes per iteration
    assert (run / "final" / "weights.npz").exists()
    again = esenas("run", "--resume", str(run), "--quiet")
    assert again.returncode == 0, again.stderr
    assert "stopped by episodes" in again.stdout and len(metrics(run)) == 3
    assert "final n/a" not in again.stdout  # the summary of a run resumed as done
    report = esenas("report", str(run))
    assert report.returncode == 0, report.stderr
    assert "made by esenas" in report.stdout
    assert "stopped by: episodes" in (run / "report" / "summary.md").read_text()


@pytest.mark.parametrize("bad", ["stop.episodes=-1", "stop.wall_time_s=inf", "stop.patience=-2"])
def test_a_bad_stopping_rule_is_one_line_on_the_cli(tmp_path: Path, bad: str) -> None:
    config = write_config(tmp_path)
    done = esenas("run", str(config), "--run-dir", str(tmp_path / "r"), "--set", bad)
    assert done.returncode != 0
    message = done.stderr.strip()
    assert "[stop]" in message and len(message.splitlines()) == 1, message
    assert not (tmp_path / "r").exists()


def test_the_manifest_and_a_study_with_mixed_software(tmp_path: Path) -> None:
    config = write_config(tmp_path, iterations=2)
    study = tmp_path / "study.toml"
    study.write_text(f'name = "mixed"\nbase = "{config.name}"\nseeds = [0, 1]\n')
    out = tmp_path / "out"
    first = esenas("ablate", str(study), "--out", str(out), "--quiet")
    assert first.returncode == 0, first.stderr
    assert "different software" not in first.stdout
    manifest = json.loads((out / "runs" / "base-seed0" / "esenas.json").read_text())
    assert manifest["results_version"] >= 3 and manifest["numpy"]
    assert manifest["plugins"]["task"]["name"] == "classic"
    assert manifest["cpu"]["simd"] and manifest["python"]
    manifest["numpy"] = "0.0.1"
    (out / "runs" / "base-seed0" / "esenas.json").write_text(json.dumps(manifest))
    again = esenas("ablate", str(study), "--out", str(out), "--quiet")
    assert again.returncode == 0, again.stderr
    warnings = [x for x in again.stdout.splitlines() if "different software" in x]
    assert len(warnings) == 1 and "numpy: 0.0.1" in warnings[0], again.stdout


@pytest.mark.parametrize("batched", [False, True])
def test_a_function_by_path_on_worker_processes_equals_optimize(
    tmp_path: Path, batched: bool
) -> None:
    import esenas_test_objectives as objectives

    from esenas_core import optimize

    name = "sphere_batched" if batched else "sphere"
    config = {
        "name": "f",
        "iterations": 4,
        "task": {"name": "function", "obs_dim": 4, "act_dim": 1,
                 "function": f"esenas_test_objectives:{name}", "batched": batched},
        "search_space": {"name": "dense", "hidden": []},
        "backend": {"name": "processes", "processes": {"workers": 2}},
        "es": {"num_perturbations": 8, "exact_evals": 2, "obs_norm": False},
    }  # fmt: skip
    path = tmp_path / "f.toml"
    path.write_text(tomli_w.dumps(config))
    done = esenas("run", str(path), "--run-dir", str(tmp_path / "cli"), "--quiet")
    assert done.returncode == 0, done.stderr
    in_process = optimize(
        getattr(objectives, name),
        config,
        batched=batched,
        run_dir=tmp_path / "py",
        overrides=["backend.name=serial"],
    )
    assert in_process.iteration == 4
    assert metrics(tmp_path / "py") == metrics(tmp_path / "cli")

"""`esenas ablate` and the example external plugin package, through the real CLI."""

from __future__ import annotations

import csv
import os
import signal
import time
from pathlib import Path

import pytest
import tomli_w
from conftest import REPO, esenas, small_config, spawn_esenas

from esenas_core.api.plugins import get_registries
from esenas_core.studies.spec import load_study, plan

pytestmark = pytest.mark.slow  # subprocesses, worker pools, dask or MuJoCo: `make test` only


def write_study(tmp_path: Path, sleep_s: float = 0.0) -> Path:
    base = small_config(iterations=3, task={"name": "flaky", "fail_mod": 10**9, "sleep_s": sleep_s})
    (tmp_path / "base.toml").write_text(tomli_w.dumps(base))
    study = {
        "name": "tiny",
        "base": "base.toml",
        "seeds": [0, 1],
        "threshold": 30.0,
        "variants": {
            "rand": {"controller.name": "random"},
            "evo": {"controller.name": "regularized_evolution"},
        },
        "grid": {"es.sigma": [0.05, 0.1]},
        "reference": ["rand-sigma=0.05", "rand-sigma=0.1"],
    }
    path = tmp_path / "study.toml"
    path.write_text(tomli_w.dumps(study))
    return path


def test_ablate_runs_every_variant_and_seed(tmp_path: Path) -> None:
    out = esenas("ablate", str(write_study(tmp_path)), "--out", str(tmp_path / "s"))
    assert out.returncode == 0, out.stderr
    assert "4 variants × 2 seeds" in out.stdout
    with open(tmp_path / "s" / "runs.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 8
    with open(tmp_path / "s" / "results.csv", newline="") as fh:
        per_variant = list(csv.DictReader(fh))
    assert [r["runs"] for r in per_variant] == ["2"] * 4
    for r in per_variant:  # every estimate inside its interval, every interval inside the runs
        for stat in ("mean", "median", "iqm"):
            low, mid, high = (float(r[f"final_score_{stat}{s}"]) for s in ("_low", "", "_high"))
            assert low <= mid <= high
    assert {r["variant"] for r in rows} == {
        "rand-sigma=0.05",
        "rand-sigma=0.1",
        "evo-sigma=0.05",
        "evo-sigma=0.1",
    }
    table = (tmp_path / "s" / "results.md").read_text()
    assert "| evo-sigma=0.1 | 2 |" in table and "reached the threshold (30)" in table
    assert "edges (best architecture)" in table and "wall time (s)" in table
    assert "P(row > column)" in table
    with open(tmp_path / "s" / "improvement.csv", newline="") as fh:
        assert len(list(csv.DictReader(fh))) == 4 * 3
    assert (tmp_path / "s" / "curves.png").stat().st_size > 5000
    with open(tmp_path / "s" / "relative.csv", newline="") as fh:
        relative = {r["variant"]: r for r in csv.DictReader(fh)}
    assert set(relative) == {r["variant"] for r in rows}
    assert {r["reference"] for r in relative.values()} <= {"rand-sigma=0.05", "rand-sigma=0.1"}
    assert "IQM ÷ the best IQM of the reference variants" in table


def test_interrupted_study_skips_finished_runs(tmp_path: Path) -> None:
    study = write_study(tmp_path, sleep_s=0.3)
    folder = tmp_path / "s"
    proc = spawn_esenas("ablate", str(study), "--out", str(folder))
    first = folder / "runs" / "rand-sigma=0.05-seed0" / "final"
    deadline = time.monotonic() + 120
    while not first.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert first.exists() and not (folder / "results.csv").exists()
    out = esenas("ablate", str(study), "--out", str(folder))
    assert out.returncode == 0, out.stderr
    assert "rand-sigma=0.05 seed 0: finished earlier with the same config, reused" in out.stdout
    with open(folder / "runs.csv", newline="") as fh:
        assert len(list(csv.DictReader(fh))) == 8


def test_bad_study_is_one_line_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('name = "x"\nbase = "missing.toml"\n')
    out = esenas("ablate", str(path))
    assert out.returncode == 2 and "no such config file" in out.stderr
    path.write_text("base = {}\nvariant = {}\n")
    out = esenas("ablate", str(path))
    assert (
        out.returncode == 2
        and "study: unknown key 'variant' (did you mean 'variants'?)" in out.stderr
    )


def test_example_plugin_package_is_installed_and_runs(tmp_path: Path) -> None:
    listing = esenas("plugins")
    assert any(
        line.split()[:2] == ["input_mask", "[esenas-input-mask]"]
        for line in listing.stdout.splitlines()
    ), listing.stdout
    out = esenas(
        "run",
        "examples/plugin_package/input_mask.toml",
        "--set",
        "iterations=2",
        "--run-dir",
        str(tmp_path / "run"),
        "--quiet",
    )
    assert out.returncode == 0, out.stderr
    assert "search space input_mask" in out.stdout


@pytest.mark.parametrize(
    "study_file", sorted((REPO / "examples" / "studies").glob("*.toml")), ids=lambda p: p.stem
)
def test_shipped_studies_plan_cleanly(study_file: Path, tmp_path: Path) -> None:
    """Every variant × seed of every study in examples/studies/ is a valid run config."""
    study = load_study(study_file)
    planned = plan(study, tmp_path, get_registries())
    assert len(planned) == len(study.variants) * len(study.seeds) >= 3

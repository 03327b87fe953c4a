"""Studies you can trust: runs keyed on their config, parallel runs equal to sequential ones.

Real `esenas ablate` subprocesses, real child processes, a real external dask scheduler and
workers on 127.0.0.1.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pytest
import tomli_w
from conftest import esenas, live_children, small_config, spawn_esenas

from esenas_core.engine.metrics import TIMING_COLUMNS
from esenas_core.runs.rundir import RESULTS_VERSION

pytestmark = pytest.mark.slow  # subprocesses, worker pools, dask or MuJoCo: `make test` only

TIMING = set(TIMING_COLUMNS)


def write_study(
    folder: Path,
    iterations: int = 3,
    sleep_s: float = 0.0,
    variants: dict[str, dict[str, Any]] | None = None,
    seeds: tuple[int, ...] = (0, 1),
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    base = small_config(
        iterations=iterations, task={"name": "flaky", "fail_mod": 10**9, "sleep_s": sleep_s}
    )
    (folder / "base.toml").write_text(tomli_w.dumps(base))
    study = {
        "name": "t",
        "base": "base.toml",
        "seeds": list(seeds),
        "variants": variants
        or {
            "rand": {"controller.name": "random"},
            "evo": {"controller.name": "regularized_evolution"},
        },
    }
    path = folder / "study.toml"
    path.write_text(tomli_w.dumps(study))
    return path


def run_contents(run_dir: Path) -> dict[str, Any]:
    """Everything a run computed: metrics without timing columns, final and best arrays."""
    with open(run_dir / "metrics.csv", newline="") as fh:
        rows = [{k: v for k, v in r.items() if k not in TIMING} for r in csv.DictReader(fh)]
    out: dict[str, Any] = {"metrics": rows}
    for part in ("final", "best"):
        with np.load(run_dir / part / "weights.npz", allow_pickle=False) as npz:
            out[part] = {k: npz[k].tobytes() for k in npz.files}
    return out


def study_contents(folder: Path) -> dict[str, Any]:
    return {p.name: run_contents(p) for p in sorted((folder / "runs").glob("*-seed*"))}


def runs_csv(folder: Path) -> list[dict[str, str]]:
    with open(folder / "runs.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def test_changed_config_stops_before_running_and_rerun_changed_replaces_only_those(
    tmp_path: Path,
) -> None:
    study = write_study(tmp_path)
    out = tmp_path / "s"
    assert esenas("ablate", str(study), "--out", str(out), "--quiet").returncode == 0
    before = {
        p.name: (p / "metrics.csv").stat().st_mtime_ns for p in (out / "runs").glob("*-seed*")
    }
    write_study(
        tmp_path,
        variants={
            "rand": {"controller.name": "random", "es.sigma": 0.2},
            "evo": {"controller.name": "regularized_evolution"},
        },
    )
    res = esenas("ablate", str(study), "--out", str(out), "--quiet")
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "rand (seeds 0, 1): es.sigma 0.1 → 0.2" in lines[0] and "evo" not in lines[0]
    assert "--rerun-changed" in lines[0]
    after = {p.name: (p / "metrics.csv").stat().st_mtime_ns for p in (out / "runs").glob("*-seed*")}
    assert after == before  # nothing ran, nothing was deleted

    res = esenas("ablate", str(study), "--out", str(out), "--quiet", "--rerun-changed")
    assert res.returncode == 0, res.stderr
    assert "evo seed 0: finished earlier with the same config, reused" in res.stdout
    assert "rand seed 0: config changed (es.sigma); run folder replaced" in res.stdout
    after = {p.name: (p / "metrics.csv").stat().st_mtime_ns for p in (out / "runs").glob("*-seed*")}
    assert after["evo-seed0"] == before["evo-seed0"]
    assert after["rand-seed0"] != before["rand-seed0"]
    # the replaced runs are exactly what a fresh study with the new config computes
    fresh = tmp_path / "fresh"
    assert esenas("ablate", str(study), "--out", str(fresh), "--quiet").returncode == 0
    assert study_contents(out) == study_contents(fresh)
    manifest = json.loads((out / "study.json").read_text())
    assert {r["run_dir"] for r in manifest["runs"]} == {
        f"runs/{v}-seed{s}" for v in ("rand", "evo") for s in (0, 1)
    }
    assert all(len(r["config_sha256"]) == 64 for r in manifest["runs"])


def test_more_iterations_continue_finished_runs_and_equal_a_fresh_study(tmp_path: Path) -> None:
    study = write_study(tmp_path, iterations=3)
    out = tmp_path / "s"
    assert esenas("ablate", str(study), "--out", str(out), "--quiet").returncode == 0
    write_study(tmp_path, iterations=5)
    res = esenas("ablate", str(study), "--out", str(out), "--quiet")
    assert res.returncode == 0, res.stderr
    assert "0 reused, 0 to resume, 4 to extend" in res.stdout
    assert "continues from its checkpoint at iteration 3" in res.stdout
    assert "rand seed 1: extended 3 → 5 iterations" in res.stdout
    fresh = tmp_path / "fresh"
    assert esenas("ablate", str(study), "--out", str(fresh), "--quiet").returncode == 0
    assert study_contents(out) == study_contents(fresh)
    # fewer iterations than a run already has: a changed run, not silently truncated
    write_study(tmp_path, iterations=4)
    res = esenas("ablate", str(study), "--out", str(out), "--quiet")
    assert res.returncode == 2 and "iterations 5 → 4" in res.stderr


def test_runs_of_removed_variants_stay_on_disk_and_out_of_the_tables(tmp_path: Path) -> None:
    study = write_study(tmp_path)
    out = tmp_path / "s"
    assert esenas("ablate", str(study), "--out", str(out), "--quiet").returncode == 0
    write_study(tmp_path, variants={"evo": {"controller.name": "regularized_evolution"}})
    res = esenas("ablate", str(study), "--out", str(out), "--quiet")
    assert res.returncode == 0, res.stderr
    assert (out / "runs" / "rand-seed0" / "final" / "weights.npz").exists()
    assert {r["variant"] for r in runs_csv(out)} == {"evo"}
    assert "rand" not in (out / "results.md").read_text()


def test_parallel_study_equals_sequential_and_survives_a_killed_run_process(
    tmp_path: Path,
) -> None:
    study = write_study(tmp_path, iterations=4, sleep_s=0.15)
    seq, par = tmp_path / "seq", tmp_path / "par"
    assert esenas("ablate", str(study), "--out", str(seq), "--quiet").returncode == 0
    proc = spawn_esenas(
        "ablate", str(study), "--out", str(par), "--workers", "2", "--quiet", capture=True
    )
    for victim in _wait_for_child_mid_run(proc.pid, par):
        victim.send_signal(signal.SIGKILL)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    assert "its process died (signal SIGKILL); resubmitted" in stdout
    assert study_contents(par) == study_contents(seq)
    assert len(runs_csv(par)) == 4


def _wait_for_child_mid_run(pid: int, folder: Path) -> list[psutil.Process]:
    """The run processes of a study once some run has recorded an iteration but not finished
    (so at least one of them is in the middle of a run)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for run in (folder / "runs").glob("*-seed*"):
            metrics = run / "metrics.csv"
            if (
                metrics.exists()
                and len(metrics.read_text().splitlines()) >= 2
                and not (run / "final").exists()
            ):
                children = live_children(pid, has="esenas_core.studies.worker")
                if children:
                    return children
        time.sleep(0.05)
    raise AssertionError("no run process got under way")


def test_killing_the_study_driver_leaves_no_run_processes(tmp_path: Path) -> None:
    study = write_study(tmp_path, iterations=50, sleep_s=0.3)
    proc = spawn_esenas("ablate", str(study), "--out", str(tmp_path / "s"), "--workers", "2")
    workers = _wait_for_child_mid_run(proc.pid, tmp_path / "s")
    children = psutil.Process(proc.pid).children(recursive=True)
    assert set(workers) <= set(children) and len(workers) == 2
    proc.kill()
    proc.wait()
    _, alive = psutil.wait_procs(children, timeout=20)
    assert not alive, [p.cmdline() for p in alive]


def test_study_on_an_external_dask_cluster_equals_sequential_with_a_worker_killed(
    tmp_path: Path, dask_cluster
) -> None:
    address, procs = dask_cluster
    study = write_study(tmp_path, iterations=4, sleep_s=0.15)
    seq, dist = tmp_path / "seq", tmp_path / "dask"
    assert esenas("ablate", str(study), "--out", str(seq), "--quiet").returncode == 0
    proc = spawn_esenas(
        "ablate", str(study), "--out", str(dist), "--scheduler", address, "--quiet", capture=True
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        rows = [
            len((r / "metrics.csv").read_text().splitlines())
            for r in (dist / "runs").glob("*-seed*")
            if (r / "metrics.csv").exists()
        ]
        if any(n >= 2 for n in rows):
            break
        time.sleep(0.05)
    procs[1].kill()  # one of the two workers, mid-run
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    assert "in dask scheduler" in stdout
    assert "lost its dask worker (KilledWorker); resubmitted" in stdout
    assert study_contents(dist) == study_contents(seq)


def test_unreachable_scheduler_is_one_line(tmp_path: Path) -> None:
    study = write_study(tmp_path)
    res = esenas("ablate", str(study), "--out", str(tmp_path / "s"), "--scheduler", "http://x")
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    res = esenas("ablate", str(study), "--scheduler", "tcp://127.0.0.1:9", "--workers", "2")
    assert res.returncode == 2 and "exclude each other" in res.stderr
    assert os.path.exists(study)


def test_bad_study_tables_and_damaged_runs_are_one_line(tmp_path: Path) -> None:
    study = write_study(tmp_path)
    text = study.read_text()
    for bad, message in (
        ("variants = 3\n", "study.variants: expected a table"),
        ("grid = [1]\n", "study.grid: expected a table"),
    ):
        broken = tmp_path / "broken.toml"
        broken.write_text('name = "b"\nbase = "base.toml"\n' + bad)
        res = esenas("ablate", str(broken), "--out", str(tmp_path / "b"))
        assert res.returncode == 2 and message in res.stderr, res.stderr
        assert len(res.stderr.strip().splitlines()) == 1
    (tmp_path / "binary.toml").write_bytes(b"\xff\xfe\x00\x01")
    res = esenas("ablate", str(tmp_path / "binary.toml"))
    assert res.returncode == 2 and "not a UTF-8 text file" in res.stderr
    study.write_text(text)
    out = tmp_path / "s"
    assert esenas("ablate", str(study), "--out", str(out), "--quiet").returncode == 0
    (out / "runs" / "evo-seed1" / "checkpoint" / "state.json").write_text("{trunc")
    res = esenas("ablate", str(study), "--out", str(out), "--quiet")
    assert res.returncode == 2 and "evo (seeds 1): checkpoint unreadable" in res.stderr
    assert (out / "runs" / "evo-seed1" / "final" / "weights.npz").exists()  # nothing deleted
    (out / "runs" / "rand-seed0" / "metrics.csv").write_text("")  # a finished run, damaged
    res = esenas("ablate", str(study), "--out", str(out), "--quiet", "--rerun-changed")
    assert res.returncode == 0, res.stderr
    assert "rand seed 0: left out of the tables: cannot read its results" in res.stdout
    assert {(r["variant"], r["seed"]) for r in runs_csv(out)} == {
        ("rand", "1"),
        ("evo", "0"),
        ("evo", "1"),
    }


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_failing_run_is_reported_and_the_others_finish(tmp_path: Path, workers: str) -> None:
    study = write_study(
        tmp_path,
        variants={
            "ok": {"controller.name": "random"},
            "broken": {"task.fail_mod": 1, "es.max_retries": 0},  # every rollout fails
        },
        seeds=(0,),
    )
    out = tmp_path / "s"
    res = esenas("ablate", str(study), "--out", str(out), "--quiet", "--workers", workers)
    assert res.returncode == 1, res.stderr
    assert "broken seed 0: FAILED:" in res.stdout and "perturbations succeeded" in res.stdout
    assert "1 run(s) failed: broken seed 0" in res.stderr
    assert [r["variant"] for r in runs_csv(out)] == ["ok"]
    manifest = json.loads((out / "study.json").read_text())
    results = {r["variant"]: r["result"] for r in manifest["runs"]}
    assert results["ok"] == "finished" and results["broken"].startswith("failed:")


def test_a_variant_that_cannot_be_built_stops_the_study_before_any_run(tmp_path: Path) -> None:
    study = write_study(
        tmp_path,
        variants={
            "ok": {"controller.name": "random"},
            "bad_env": {"task.env_id": "NoSuchEnv-v9"},
            "big_k": {"search_space.edges.k": 10**6},
        },
    )
    res = esenas("ablate", str(study), "--out", str(tmp_path / "s"), "--workers", "2")
    assert res.returncode == 2, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert "variant 'bad_env'" in res.stderr and "NoSuchEnv-v9" in res.stderr
    assert not list((tmp_path / "s").glob("runs/*-seed*"))


def test_an_option_missing_from_a_stored_config_counts_as_its_default(tmp_path: Path) -> None:
    """A run made before a plugin gained an option is reused; an explicit other value is not."""
    study = write_study(tmp_path, variants={"rand": {"controller.name": "random"}}, seeds=(0,))
    out = tmp_path / "s"
    assert esenas("ablate", str(study), "--out", str(out), "--quiet").returncode == 0
    stored = out / "runs" / "rand-seed0" / "config.toml"
    text = stored.read_text()
    assert 'decoding = "repair"\n' in text
    stored.write_text(text.replace('decoding = "repair"\n', ""))  # as if the option did not exist
    res = esenas("ablate", str(study), "--out", str(out), "--quiet")
    assert res.returncode == 0 and "1 reused" in res.stdout, res.stdout + res.stderr
    stored.write_text(text.replace('decoding = "repair"\n', 'decoding = "plain"\n'))
    res = esenas("ablate", str(study), "--out", str(out), "--quiet")
    assert res.returncode == 2 and "search_space.decoding plain → repair" in res.stderr, res.stderr


def test_runs_of_another_results_version_are_changed_not_reused(tmp_path: Path) -> None:
    study = write_study(tmp_path / "s", iterations=2, seeds=(0,))
    out = tmp_path / "out"
    assert esenas("ablate", str(study), "--out", str(out), "--quiet").returncode == 0
    old = sorted((out / "runs").glob("rand-seed*"))[0]
    (old / "esenas.json").unlink()  # as made by an esenas of results version 1
    res = esenas("ablate", str(study), "--out", str(out), "--quiet")
    assert res.returncode == 2, res.stderr
    assert f"esenas results version 1 → {RESULTS_VERSION}" in res.stderr, res.stderr
    # resuming it alone is refused too, unless forced
    res = esenas("run", "--resume", str(old), "--set", "iterations=3", "--quiet")
    assert res.returncode == 2, res.stderr
    assert f"esenas results version (1 → {RESULTS_VERSION})" in res.stderr, res.stderr
    res = esenas("ablate", str(study), "--out", str(out), "--quiet", "--rerun-changed")
    assert res.returncode == 0, res.stderr
    assert json.loads((old / "esenas.json").read_text())["results_version"] == RESULTS_VERSION

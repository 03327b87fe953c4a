"""Faults and bad input end in one line (exit 2) or are survived; nothing is left running."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
import tomli_w
from conftest import REPO, esenas, small_config, spawn_esenas

from esenas_core.engine.es import SHAPINGS, antithetic_weights, centered_rank, forward_fd_weights

pytestmark = pytest.mark.slow  # subprocesses, worker pools, dask or MuJoCo: `make test` only


def one_line_exit_2(res: subprocess.CompletedProcess) -> str:
    assert res.returncode == 2, res.stdout + res.stderr
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    return lines[0]


def test_pool_workers_die_with_a_killed_driver(tmp_path: Path) -> None:
    config = small_config(
        iterations=200,
        backend={"name": "processes", "workers": 2},
        task={"name": "flaky", "fail_mod": 10**9, "sleep_s": 0.2},
    )
    (tmp_path / "c.toml").write_text(tomli_w.dumps(config))
    proc = spawn_esenas(
        "run", str(tmp_path / "c.toml"), "--run-dir", str(tmp_path / "r"), "--quiet"
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        metrics = tmp_path / "r" / "metrics.csv"
        if metrics.exists() and len(metrics.read_text().splitlines()) >= 2:
            break
        time.sleep(0.05)
    children = psutil.Process(proc.pid).children(recursive=True)
    assert len(children) >= 2  # the pool's workers (and its resource tracker)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    _, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, [p.cmdline() for p in alive]


def test_tied_returns_share_their_rank() -> None:
    np.testing.assert_allclose(
        centered_rank(np.array([3.0, 1.0, 3.0, 2.0])), [1 / 3, -0.5, 1 / 3, -1 / 6]
    )
    # a pair with f+ = f- contributes nothing under every shaping
    for shaping in SHAPINGS:
        w = antithetic_weights(np.array([5.0, 1.0, 7.0]), np.array([5.0, 2.0, 3.0]), 0.1, shaping)
        assert w[0] == 0.0, shaping


@pytest.mark.parametrize("shaping", sorted(SHAPINGS))
def test_all_equal_returns_give_a_zero_gradient(shaping: str) -> None:
    flat = np.full(8, 1000.0)  # a saturated reward, as InvertedPendulum's
    assert np.all(antithetic_weights(flat, flat, 0.05, shaping) == 0.0)
    assert np.all(forward_fd_weights(flat, 1000.0, 0.05, shaping) == 0.0)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"task": {"name": "gym", "gym": {"env_id": "nosuchmod:Foo-v0"}}}, "nosuchmod"),
        (
            {
                "task": {
                    "name": "gym",
                    "gym": {"env_id": "Hopper-v5", "env_kwargs": {"xml_file": "/nonexistent.xml"}},
                }
            },
            "cannot make env_id 'Hopper-v5'",
        ),
        ({"name": "../../escaped"}, "name must be a non-empty name without '/'"),
        ({"es": {"num_perturbations": 10**12}}, "more than half of this machine's"),
        ({"es": {"exact_evals": 10**12}}, "more than half of this machine's"),
        ({"search_space": {"name": "dense", "hidden": [89896163, 118398]}}, "candidate edges"),
    ],
    ids=["unknown-module", "missing-xml", "path-name", "huge-n", "huge-exact", "huge-net"],
)
def test_bad_task_or_name_is_one_line_and_no_run_dir(tmp_path: Path, section, message) -> None:
    config = small_config(**section)
    (tmp_path / "c.toml").write_text(tomli_w.dumps(config))
    res = esenas("run", str(tmp_path / "c.toml"), "--run-dir", str(tmp_path / "r"))
    assert message in one_line_exit_2(res)
    assert not (tmp_path / "r").exists()
    assert not (REPO.parent / "escaped").exists()


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("run")
    (folder / "c.toml").write_text(tomli_w.dumps(small_config(iterations=2)))
    res = esenas("run", str(folder / "c.toml"), "--run-dir", str(folder / "r"), "--quiet")
    assert res.returncode == 0, res.stderr
    return folder / "r"


def damage(run: Path, target: Path, how: str) -> Path:
    import shutil

    copy = target / "run"
    shutil.copytree(run, copy)
    weights, arch = copy / "best" / "weights.npz", copy / "best" / "architecture.json"
    if how == "truncated":
        weights.write_bytes(weights.read_bytes()[:100])
    elif how == "empty":
        weights.write_bytes(b"")
    elif how == "empty-json":
        arch.write_text("{}")
    elif how == "wrong-theta":
        with np.load(weights) as npz:
            arrays = {k: npz[k] for k in npz.files}
        arrays["theta"] = arrays["theta"][:-3]
        np.savez(weights, **arrays)
    return copy


@pytest.mark.parametrize("how", ["truncated", "empty", "empty-json", "wrong-theta"])
def test_evaluate_a_damaged_best_is_one_line(finished_run: Path, tmp_path: Path, how: str) -> None:
    copy = damage(finished_run, tmp_path, how)
    line = one_line_exit_2(esenas("evaluate", str(copy), "--episodes", "1"))
    assert str(copy / "best") in line


@pytest.mark.parametrize(
    ("backend", "message"),
    [
        ({"name": "dask", "address": "garbage://x"}, "is not a scheduler address"),
        ({"name": "dask", "address": "http://127.0.0.1:1"}, "is not a scheduler address"),
        (
            {"name": "dask", "address": "tls://127.0.0.1:1", "tls_ca_file": "/nonexistent.pem"},
            "tls_ca_file '/nonexistent.pem': no such file",
        ),
    ],
    ids=["garbage", "http", "missing-tls-file"],
)
def test_bad_dask_settings_are_one_line_and_no_run_dir(tmp_path: Path, backend, message) -> None:
    (tmp_path / "c.toml").write_text(tomli_w.dumps(small_config(backend=backend)))
    res = esenas("run", str(tmp_path / "c.toml"), "--run-dir", str(tmp_path / "r"))
    assert message in one_line_exit_2(res)
    assert not (tmp_path / "r").exists()


def test_render_mode_in_env_kwargs_is_refused(tmp_path: Path) -> None:
    config = small_config(
        task={
            "name": "gym",
            "gym": {"env_id": "CartPole-v1", "env_kwargs": {"render_mode": "human"}},
        }
    )
    (tmp_path / "c.toml").write_text(tomli_w.dumps(config))
    res = esenas("run", str(tmp_path / "c.toml"), "--run-dir", str(tmp_path / "r"))
    assert "training does not render" in one_line_exit_2(res)
    assert not (tmp_path / "r").exists()


def test_resume_with_fewer_iterations_than_done_is_refused(
    finished_run: Path, tmp_path: Path
) -> None:
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(finished_run, copy)
    before = (copy / "config.toml").read_text(), (copy / "metrics.csv").read_text()
    res = esenas("run", "--resume", str(copy), "--set", "iterations=1", "--quiet")
    assert "checkpoint is at iteration 2, past iterations = 1" in one_line_exit_2(res)
    assert ((copy / "config.toml").read_text(), (copy / "metrics.csv").read_text()) == before


@pytest.mark.parametrize("state", ['{"format": 1}', "[1, 2]", '{"format": 1, "iteration": "x"}'])
def test_a_wrong_but_valid_state_json_is_a_corrupt_checkpoint(
    finished_run: Path, tmp_path: Path, state: str
) -> None:
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(finished_run, copy)
    (copy / "checkpoint" / "state.json").write_text(state)
    res = esenas("run", "--resume", str(copy), "--set", "iterations=4", "--quiet")
    line = one_line_exit_2(res)
    assert "checkpoint" in line and ("corrupt" in line or "not an esenas checkpoint" in line)


@pytest.mark.parametrize("cut", [40, 0])
def test_resume_after_metrics_csv_was_cut_inside_its_header(
    finished_run: Path, tmp_path: Path, cut: int
) -> None:
    import csv
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(finished_run, copy)
    for name in ("metrics.csv", "evaluations.csv"):
        (copy / name).write_bytes((copy / name).read_bytes()[:cut])
    for target in ("4", "5"):  # and a later resume works too
        res = esenas("run", "--resume", str(copy), "--set", f"iterations={target}", "--quiet")
        assert res.returncode == 0, res.stderr
    with open(copy / "metrics.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["iteration"]) for r in rows] == [3, 4, 5]  # the rows before the cut are gone
    with open(copy / "evaluations.csv", newline="") as fh:
        assert {int(r["iteration"]) for r in csv.DictReader(fh)} == {3, 4, 5}


@pytest.mark.parametrize(
    "damage",
    ["garbage appended", "garbage row inside", "header garbage", "binary file", "nul bytes"],
)
def test_resume_after_metrics_csv_was_damaged(
    finished_run: Path, tmp_path: Path, damage: str
) -> None:
    import csv
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(finished_run, copy)
    noise = np.random.default_rng(5).integers(0, 256, 300, dtype=np.uint8).tobytes()
    for name in ("metrics.csv", "evaluations.csv"):
        data = (copy / name).read_bytes()
        head, _, rest = data.partition(b"\n")
        damaged = {
            "garbage appended": data + noise,
            "garbage row inside": head + b"\n" + noise + b"\n" + rest,
            "header garbage": noise[:40] + b"\n" + rest,
            "binary file": noise,
            "nul bytes": data.replace(b",", b"\x00,", 3),
        }[damage]
        (copy / name).write_bytes(damaged)
    for target in ("3", "4"):  # and a later resume works too
        res = esenas("run", "--resume", str(copy), "--set", f"iterations={target}", "--quiet")
        assert res.returncode == 0, res.stderr
    with open(copy / "metrics.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    iterations = [int(r["iteration"]) for r in rows]
    assert iterations[-2:] == [3, 4] and iterations == sorted(set(iterations))
    assert set(iterations) <= {1, 2, 3, 4}
    with open(copy / "evaluations.csv", newline="") as fh:
        assert {3, 4} <= {int(r["iteration"]) for r in csv.DictReader(fh)} <= {1, 2, 3, 4}


@pytest.mark.parametrize("where", ["a_file/sub", "/proc/no/such/dir"])
def test_a_run_directory_that_cannot_be_created_is_one_line(tmp_path: Path, where: str) -> None:
    (tmp_path / "a_file").write_text("x")
    config = tmp_path / "c.toml"
    config.write_text(tomli_w.dumps(small_config(iterations=1)))
    res = esenas("run", str(config), "--run-dir", where, "--quiet", cwd=tmp_path)
    assert "cannot create run directory" in one_line_exit_2(res)


def test_report_on_a_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "a_file").write_text("x")
    res = esenas("report", str(tmp_path / "a_file"))
    assert "Not a directory" in one_line_exit_2(res)


def _file_size_limit(limit: int):
    def apply() -> None:
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_a_failing_write_stops_with_one_line_and_resume_loses_nothing(tmp_path: Path) -> None:
    import csv

    from conftest import ESENAS, cli_env

    config = small_config(iterations=60, checkpoint_every=7, task={"name": "hybrid"})
    config["search_space"] = {"name": "edges", "hidden": [4], "k": 6}
    (tmp_path / "c.toml").write_text(tomli_w.dumps(config))
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    assert (
        esenas("run", str(tmp_path / "c.toml"), "--run-dir", str(whole), "--quiet").returncode == 0
    )
    res = subprocess.run(  # metrics.csv outgrows a 6 kB file-size limit part-way
        [*ESENAS, "run", str(tmp_path / "c.toml"), "--run-dir", str(cut), "--quiet"],
        capture_output=True,
        text=True,
        env=cli_env(),
        preexec_fn=_file_size_limit(6000),
        timeout=300,
    )
    line = one_line_exit_2(res)
    assert "File too large" in line and "resume" in line
    assert not (cut / "final").exists()
    assert esenas("run", "--resume", str(cut), "--quiet").returncode == 0

    def rows(run: Path) -> list[dict]:
        with open(run / "metrics.csv", newline="") as fh:
            return [
                {k: v for k, v in r.items() if not k.endswith("_time")} for r in csv.DictReader(fh)
            ]

    assert rows(cut) == rows(whole) and len(rows(whole)) == 60
    for name in ("final/weights.npz", "best/weights.npz"):
        a, b = (np.load(run / name) for run in (cut, whole))
        for key in a.files:
            np.testing.assert_array_equal(a[key], b[key])

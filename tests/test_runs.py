"""Runs: exact resume after SIGKILL, refused resumes, evaluate, report."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tomli_w
from conftest import esenas, small_config, spawn_esenas, untimed

from esenas_core.api.plugins import Registries
from esenas_core.runs.evaluate import evaluate_best

pytestmark = pytest.mark.slow  # subprocesses, worker pools, dask or MuJoCo: `make test` only


def slow_config(tmp_path: Path) -> Path:
    data = small_config(
        iterations=6,
        checkpoint_every=2,
        task={"name": "flaky", "fail_mod": 10**9, "sleep_s": 0.4},
        controller={"name": "policy_gradient", "update_batch_size": 8},
        es={"optimizer": "adam"},
    )
    path = tmp_path / "slow.toml"
    path.write_text(tomli_w.dumps(data))
    return path


def two_iterations(tmp_path: Path) -> Path:
    """A finished 2-iteration run of the slow config (checkpoint at its end)."""
    run_dir = tmp_path / "run"
    out = esenas(
        "run",
        str(slow_config(tmp_path)),
        "--run-dir",
        str(run_dir),
        "--quiet",
        "--set",
        "iterations=2",
    )
    assert out.returncode == 0, out.stderr
    return run_dir


def rows(run_dir: Path) -> list[dict]:
    with open(run_dir / "metrics.csv", newline="") as fh:
        return untimed(csv.DictReader(fh))


def theta(run_dir: Path) -> np.ndarray:
    with np.load(run_dir / "final" / "weights.npz", allow_pickle=False) as npz:
        return npz["theta"]


def test_resume_after_sigkill_equals_uninterrupted_run(tmp_path: Path) -> None:
    config = slow_config(tmp_path)
    whole = tmp_path / "whole"
    assert esenas("run", str(config), "--run-dir", str(whole), "--quiet").returncode == 0

    killed = tmp_path / "killed"
    proc = spawn_esenas("run", str(config), "--run-dir", str(killed), "--quiet")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # wait until iteration 3 is written (checkpoint at 2)
        if (killed / "metrics.csv").exists() and len(rows(killed)) >= 3:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    written = len(rows(killed))
    assert 3 <= written < 6, "the kill must land mid-run"
    assert not (killed / "final").exists()

    out = esenas("run", "--resume", str(killed), "--quiet")
    assert out.returncode == 0, out.stderr
    last = written // 2 * 2  # checkpoint_every = 2 (a kill during its write leaves the one before)
    assert any(f"iterations {c + 1}..6" in out.stdout for c in (last, last - 2)), out.stdout
    assert rows(killed) == rows(whole)
    np.testing.assert_array_equal(theta(killed), theta(whole))
    evaluations = [(d / "evaluations.csv").read_text() for d in (killed, whole)]
    assert evaluations[0] == evaluations[1] and len(evaluations[0].splitlines()) > 6
    # the whole state survives the kill: optimizer moments, observation statistics, best θ
    states = [json.loads((d / "checkpoint" / "state.json").read_text()) for d in (killed, whole)]
    for state in states:
        del state["wall_time"]
    assert states[0] == states[1]
    assert states[0]["obs_count"] == int(rows(whole)[-1]["env_steps"])  # one per env step
    arrays = [dict(np.load(d / "checkpoint" / "arrays.npz")) for d in (killed, whole)]
    assert arrays[0].keys() == arrays[1].keys() >= {"theta", "obs_mean", "obs_m2", "best_theta"}
    for key, value in arrays[0].items():
        np.testing.assert_array_equal(value, arrays[1][key], err_msg=key)


def test_resume_refuses_a_changed_config(tmp_path: Path) -> None:
    run_dir = two_iterations(tmp_path)
    out = esenas("run", "--resume", str(run_dir), "--set", "es.sigma=0.3", "--quiet")
    assert out.returncode == 2
    assert "the config differs from the run's in es.sigma" in out.stderr
    assert "Traceback" not in out.stderr
    # more iterations are fine; --force accepts other changes
    out = esenas("run", "--resume", str(run_dir), "--set", "iterations=3", "--quiet")
    assert out.returncode == 0, out.stderr
    assert len(rows(run_dir)) == 3


def test_truncated_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    run_dir = two_iterations(tmp_path)
    arrays = run_dir / "checkpoint" / "arrays.npz"
    arrays.write_bytes(arrays.read_bytes()[:100])
    out = esenas("run", "--resume", str(run_dir), "--set", "iterations=3", "--quiet")
    assert out.returncode == 2
    assert "corrupt or unreadable checkpoint" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    missing = esenas("run", "--resume", str(tmp_path / "nope"), "--quiet")
    assert missing.returncode == 2 and "no such config file" in missing.stderr


def test_evaluate_reproduces_the_recorded_best(tmp_path: Path, registries: Registries) -> None:
    run_dir = tmp_path / "run"
    data = small_config(iterations=4)
    path = tmp_path / "c.toml"
    path.write_text(tomli_w.dumps(data))
    assert esenas("run", str(path), "--run-dir", str(run_dir), "--quiet").returncode == 0
    best = evaluate_best(run_dir, registries, episodes=1, seed=0)
    # CartPole is deterministic given its seed: the recorded episode replays exactly.
    again = evaluate_best(run_dir, registries, env_seeds=[best.recorded_env_seed])
    assert again.returns[0] == best.recorded_score
    out = esenas("evaluate", str(run_dir), "--episodes", "3")
    assert out.returncode == 0, out.stderr
    assert "3 episodes: return" in out.stdout


def test_report_writes_pngs_and_summary(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    path = tmp_path / "c.toml"
    path.write_text(tomli_w.dumps(small_config(iterations=3)))
    assert esenas("run", str(path), "--run-dir", str(run_dir), "--quiet").returncode == 0
    out = esenas("report", str(run_dir))
    assert out.returncode == 0, out.stderr
    for name in ("learning_curves.png", "architecture.png", "pareto.png"):
        png = run_dir / "report" / name
        assert png.stat().st_size > 5000 and png.read_bytes()[:4] == b"\x89PNG"
    summary = (run_dir / "report" / "summary.md").read_text()
    assert "## Best architecture" in summary and "edges 20" in summary
    assert "## Size against reward" in summary and "| 20 |" in summary


@pytest.mark.parametrize("command", ["evaluate", "report"])
def test_missing_run_directory(command: str, tmp_path: Path) -> None:
    out = esenas(command, str(tmp_path / "missing"))
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1


def _can_render_headless() -> bool:
    """Whether this machine renders MuJoCo offscreen (EGL), asked of a fresh process."""
    probe = (
        "import os; os.environ['MUJOCO_GL'] = 'egl'; import gymnasium as gym;"
        " e = gym.make('InvertedPendulum-v5', render_mode='rgb_array'); e.reset(seed=0);"
        " assert e.render().ndim == 3"
    )
    return subprocess.run([sys.executable, "-c", probe], capture_output=True).returncode == 0


def test_evaluate_video(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    path = tmp_path / "c.toml"
    data = small_config(iterations=2, task={"gym": {"env_id": "InvertedPendulum-v5"}})
    path.write_text(tomli_w.dumps(data))
    assert esenas("run", str(path), "--run-dir", str(run_dir), "--quiet").returncode == 0
    gif = tmp_path / "best.gif"
    out = esenas(
        "evaluate", str(run_dir), "--episodes", "1", "--video", str(gif), "--video-steps", "30"
    )
    if _can_render_headless():
        assert out.returncode == 0, out.stderr
        assert gif.read_bytes()[:6] == b"GIF89a" and "video:" in out.stdout
    else:  # this machine has no headless OpenGL: a clear one-line error, no traceback
        assert out.returncode == 2 and "cannot render" in out.stderr, out.stderr
    bad = esenas("evaluate", str(run_dir), "--video", str(tmp_path / "x.mp4"))
    assert bad.returncode == 2 and "use a .gif file name" in bad.stderr


def test_video_of_a_task_that_cannot_render(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    path = tmp_path / "c.toml"
    data = small_config(iterations=1, task={"name": "hybrid"}, search_space={"name": "dense"})
    path.write_text(tomli_w.dumps(data))
    assert esenas("run", str(path), "--run-dir", str(run_dir), "--quiet").returncode == 0
    out = esenas("evaluate", str(run_dir), "--video", str(tmp_path / "x.gif"))
    assert out.returncode == 2 and "task 'hybrid' cannot render episodes" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_ctrl_c_is_a_short_message_and_resumable(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    proc = spawn_esenas(
        "run", str(slow_config(tmp_path)), "--run-dir", str(run_dir), "--quiet", capture=True
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (run_dir / "checkpoint").exists():
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "interrupted" in err and "Traceback" not in err
    assert esenas("run", "--resume", str(run_dir), "--quiet").returncode == 0
    assert len(rows(run_dir)) == 6


def test_third_party_warnings_go_to_the_run_log_once(tmp_path: Path) -> None:
    """MuJoCo prints a deprecation notice each time a HalfCheetah is built (driver and every
    worker); it reaches the run's esenas.log once, and the terminal never."""
    config = tmp_path / "hc.toml"
    config.write_text(
        tomli_w.dumps(
            small_config(
                iterations=1,
                task={"name": "gym", "gym": {"env_id": "HalfCheetah-v5", "max_episode_steps": 10}},
                search_space={"name": "dense", "dense": {"hidden": [4]}},
                backend={"name": "processes", "processes": {"workers": 2}},
            )
        )
    )
    run = tmp_path / "run"
    proc = esenas("run", str(config), "--run-dir", str(run), "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "settotalmass" not in proc.stdout + proc.stderr
    log = (run / "esenas.log").read_text().splitlines()
    assert sum("settotalmass" in line for line in log) == 1, log
    assert not (tmp_path / "MUJOCO_LOG.TXT").exists()

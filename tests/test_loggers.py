"""The optional TensorBoard logger: a real run writes event files whose scalars read back."""

from __future__ import annotations

import csv
import struct
from pathlib import Path

import pytest
import tomli_w
from conftest import esenas, small_config

pytestmark = pytest.mark.slow  # subprocesses, worker pools, dask or MuJoCo: `make test` only


def read_scalars(folder: Path) -> dict[str, dict[int, float]]:
    """tag → step → value from every TFRecord event file in ``folder`` (parsed here, with the
    Event protobuf only: length, length CRC, payload, payload CRC per record)."""
    from tensorboardX.proto.event_pb2 import Event

    out: dict[str, dict[int, float]] = {}
    files = sorted(folder.glob("events.out.tfevents.*"))
    assert files, f"no event file in {folder}"
    for path in files:
        data = path.read_bytes()
        pos = 0
        while pos < len(data):
            (length,) = struct.unpack("<Q", data[pos : pos + 8])
            event = Event.FromString(data[pos + 12 : pos + 12 + length])
            pos += 12 + length + 4
            for value in event.summary.value:
                out.setdefault(value.tag, {})[event.step] = value.simple_value
    return out


def test_tensorboard_logger_writes_every_metric_per_iteration(tmp_path: Path) -> None:
    config = small_config(iterations=3, loggers=["tensorboard"])
    (tmp_path / "c.toml").write_text(tomli_w.dumps(config))
    run = tmp_path / "run"
    res = esenas("run", str(tmp_path / "c.toml"), "--run-dir", str(run), "--quiet")
    assert res.returncode == 0, res.stderr
    scalars = read_scalars(run / "tensorboard")
    with open(run / "metrics.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(scalars["score_mean"]) == [1, 2, 3]
    for row in rows:
        step = int(row["iteration"])
        for key in ("score_mean", "episodes", "theta_norm", "best_score"):
            assert scalars[key][step] == pytest.approx(float(row[key]), rel=1e-6)


def test_runs_without_the_logger_write_no_events(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text(tomli_w.dumps(small_config(iterations=1)))
    res = esenas("run", str(tmp_path / "c.toml"), "--run-dir", str(tmp_path / "r"), "--quiet")
    assert res.returncode == 0, res.stderr
    assert not (tmp_path / "r" / "tensorboard").exists()


def test_unknown_logger_is_one_line_before_any_run_dir(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text(tomli_w.dumps(small_config(loggers=["tensorbaord"])))
    res = esenas("run", str(tmp_path / "c.toml"), "--run-dir", str(tmp_path / "r"))
    assert res.returncode == 2
    assert "unknown logger 'tensorbaord' (did you mean 'tensorboard'?)" in res.stderr
    assert not (tmp_path / "r").exists()
    listing = esenas("plugins")
    assert "logger:" in listing.stdout and "tensorboard" in listing.stdout


def test_the_logger_sketch_in_hooks_md_runs_as_written(tmp_path: Path) -> None:
    import os
    import re
    import subprocess

    from conftest import ESENAS, REPO, cli_env

    text = (REPO / "docs" / "hooks.md").read_text()
    after = text.split("A sketch of a logger of your own", 1)[1]
    code = re.search(r"```python\n(.*?)```", after, re.S).group(1)
    (tmp_path / "jsonl_logger.py").write_text(code)
    (tmp_path / "c.toml").write_text(tomli_w.dumps(small_config(iterations=2, loggers=["jsonl"])))
    env = cli_env(ESENAS_PLUGINS="jsonl_logger")
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), env["PYTHONPATH"]])
    res = subprocess.run(
        [*ESENAS, "run", str(tmp_path / "c.toml"), "--run-dir", str(tmp_path / "r"), "--quiet"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    lines = (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 2 and '"score_mean"' in lines[0]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # SQLAlchemy's, in MLflow's reader
def test_mlflow_logger_runs_read_back_with_mlflows_client(tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    config = small_config(iterations=3, loggers=["mlflow"], stop={"patience": 50})
    (tmp_path / "c.toml").write_text(tomli_w.dumps(config))
    run = tmp_path / "run"
    res = esenas("run", str(tmp_path / "c.toml"), "--run-dir", str(run), "--quiet")
    assert res.returncode == 0, res.stderr
    assert "INFO" not in res.stderr  # MLflow's table creation stays off the terminal
    client = MlflowClient(tracking_uri=f"sqlite:///{(run / 'mlflow.db').resolve()}")
    experiment = client.get_experiment_by_name(config["name"])
    [logged] = client.search_runs([experiment.experiment_id])
    assert logged.info.status == "FINISHED"
    assert logged.data.tags["esenas.run_dir"] == str(run.resolve())
    assert logged.data.params["es.sigma"] == str(config["es"]["sigma"])
    assert logged.data.params["search_space.name"] == "edges"
    history = client.get_metric_history(logged.info.run_id, "score_mean")
    with open(run / "metrics.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(m.step, m.value) for m in sorted(history, key=lambda m: m.step)] == [
        (int(r["iteration"]), float(r["score_mean"])) for r in rows
    ]
    assert logged.data.metrics["summary.iterations"] == 3

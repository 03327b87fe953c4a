"""The controller's own tests: the public checker, then one real run through the CLI."""

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import tomli_w
from esenas_input_mask.hill import HillClimbing

from esenas_core import check_controller, get_registries

CONFIG = Path(__file__).parents[1] / "input_mask.toml"


def test_conformance() -> None:
    ran = check_controller(HillClimbing)
    assert "improves on a toy objective" in ran


def test_found_through_its_entry_point() -> None:
    entry = get_registries()["controller"].get("hill_climbing")
    assert entry.cls is HillClimbing
    assert entry.source == "esenas-input-mask"


@pytest.mark.slow  # a real run through the CLI
def test_trains_with_the_example_space(tmp_path: Path) -> None:
    config = tomllib.loads(CONFIG.read_text())
    config.update(iterations=3, controller={"name": "hill_climbing", "explore": 0.2})
    path = tmp_path / "hill.toml"
    path.write_text(tomli_w.dumps(config))
    proc = subprocess.run(
        [sys.executable, "-m", "esenas_core.cli.main", "run", str(path), "--quiet",
         "--run-dir", str(tmp_path / "run")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "run" / "final").is_dir()
    assert "controller hill_climbing" in proc.stdout

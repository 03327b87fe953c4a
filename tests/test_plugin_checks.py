"""Every registered plugin — built-in, installed third-party (the example package's entry
points) and test plugins — passes the public checker of its kind (search spaces, with option
variants: tests/test_search_spaces.py)."""

from __future__ import annotations

import esenas_test_plugins
import pytest
from contract_plugins import ExtraPlugin

from esenas_core import (
    TaskSpec,
    check_controller,
)
from esenas_core.api.plugins import Registries, get_plugin_manager
from esenas_core.checks.controller import SPACES
from esenas_core.cli.check import check_entry

pytestmark = pytest.mark.slow  # subprocesses, worker pools, dask or MuJoCo: `make test` only

# The installed plugins plus the test plugins (not the contract tests' broken ones).
REGISTRIES = Registries(get_plugin_manager(extra=[esenas_test_plugins, ExtraPlugin()]))


def _entries(kind: str) -> list:
    return [REGISTRIES[kind].get(name) for name in REGISTRIES[kind].names()]


def test_every_kind_has_plugins_to_check() -> None:
    for kind in ("search_space", "controller", "backend", "task"):
        assert _entries(kind), kind
    assert "input_mask" in REGISTRIES["search_space"].names()  # a third-party entry point
    assert {"flaky", "hill", "first_layer"} <= {e.name for k in ("task", "controller",
        "search_space") for e in _entries(k)}  # fmt: skip


@pytest.mark.parametrize("entry", _entries("controller"), ids=lambda e: e.name)
def test_controller(entry) -> None:
    if entry.name == "pyglove":  # 9-32 ms per genome: the contract on small spaces, no learning
        ran = check_controller(entry.cls, spaces=[SPACES[0], SPACES[2]], rounds=0, batch=4)
    else:
        ran = check_controller(entry.cls)
    assert "state() JSON, restore reproduces the next proposals" in ran
    if entry.name in ("regularized_evolution", "policy_gradient"):
        assert "improves on a toy objective" in ran


@pytest.mark.parametrize("entry", _entries("task") + _entries("backend"), ids=lambda e: e.name)
def test_task_and_backend(entry) -> None:
    """What `esenas check` runs (backends with 2 workers where they have the option)."""
    assert check_entry(entry)


@pytest.mark.parametrize("entry", _entries("search_space"), ids=lambda e: e.name)
def test_search_space_describes_itself(entry, tmp_path) -> None:
    """``label`` says what a genome's values mean; ``draw`` gives `esenas report` a picture."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    space = entry.cls(entry.cls.Options(), TaskSpec(obs_dim=4, act_dim=2))
    arch = space.decode(space.decisions.sample(np.random.default_rng(0), 1)[0])
    label = space.label(arch)
    assert isinstance(label, str) and label
    fig, ax = plt.subplots()
    drawn = space.draw(arch, ax)
    if drawn:
        fig.savefig(tmp_path / "arch.png")
        assert (tmp_path / "arch.png").stat().st_size > 1000
    plt.close(fig)
    if entry.name == "ops":
        assert "hidden node ops: " in label
    if entry.name == "partitions":
        assert "shared weights" in label
    if entry.name == "edges":
        assert "of" in label and "→" in label

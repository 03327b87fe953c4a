"""Plugin authors across versions: moved modules and names fail with their new place, 0.1-era
controllers are told what to rename, and registration problems are named so they can be fixed
(hook wrappers, a plugin that registers nothing, conflicting names, a NaN θ₀)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, cli_env, make_trainer, small_config
from esenas_plugins.controllers.random_search import RandomController
from esenas_plugins.search_spaces.edges import EdgesSearchSpace

from esenas_core import Controller, EsenasWarning, PluginError, hookimpl
from esenas_core.api.migration import MOVED_MODULES, MOVED_NAMES
from esenas_core.api.plugins import Registries, get_plugin_manager


@pytest.mark.parametrize(
    ("statement", "new_place"),
    [
        ("import esenas_core.supernet", "from esenas_core import LayeredOptions, LayeredSpace"),
        ("from esenas_core.controller_utils import FeedbackCounter", "from esenas_core import"),
        ("import esenas_core.api.checks", "check_search_space"),
        ("from esenas_core.runs.study import run_study", "esenas_core.studies"),
        ("from esenas_core import PoolBackend", "from esenas_core.backends import PoolBackend"),
        ("from esenas_core import split_chunks", "no longer public"),
    ],
)
def test_a_moved_import_names_the_new_place(statement: str, new_place: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", statement], capture_output=True, text=True, env=cli_env()
    )
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(("ModuleNotFoundError:", "ImportError:")), last
    assert new_place in last and "Porting a plugin" in last, last


def test_every_moved_module_is_really_gone_and_every_new_place_imports() -> None:
    import importlib

    for old in MOVED_MODULES:
        with pytest.raises(ModuleNotFoundError, match="it moved"):
            importlib.import_module(old)
    import esenas_core.backends

    for name, where in MOVED_NAMES.items():
        if where.startswith("from esenas_core.backends import"):
            assert hasattr(esenas_core.backends, name), name


def test_a_0_1_controller_is_told_the_new_method_names() -> None:
    class Old(Controller):
        name = "old_style"

        def propose(self, n: int) -> np.ndarray:
            return self.decisions.sample(self.rng, n)

        def feedback(self, genomes: np.ndarray, rewards: np.ndarray) -> None:
            pass

        def state(self) -> dict:
            return {}

    class Plugin:
        @hookimpl
        def esenas_register_controllers(self, register):
            register(Old)

    with pytest.warns(EsenasWarning, match=r"feedback\(\) → learn\(\), state\(\) → algorithm_s"):
        reg = Registries(get_plugin_manager(extra=[Plugin()], entry_points=False))
    assert reg["controller"].get("old_style").cls is Old  # still usable: a warning, not an error


def test_a_hook_wrapper_is_refused_not_silently_skipped() -> None:
    class Wrapper:
        @hookimpl(wrapper=True)
        def esenas_run_start(self, config, run_dir):
            yield

    pm = get_plugin_manager(extra=[Wrapper()], entry_points=False)
    (broken,) = pm.broken
    assert "esenas_run_start is a hook wrapper" in broken.reason
    assert all(name != broken.name for name, _ in pm.list_name_plugin())


def test_a_plugin_that_registers_nothing_is_warned_about() -> None:
    class Idle:
        @hookimpl
        def esenas_register_tasks(self, register):
            pass  # forgot register(MyTask)

    with pytest.warns(EsenasWarning, match=r"registers nothing: its esenas_register_tasks never"):
        Registries(get_plugin_manager(extra=[Idle()], entry_points=False))


@pytest.mark.slow
def test_an_entry_point_with_no_hooks_is_warned_about(tmp_path: Path) -> None:
    dist = tmp_path / "idle_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: idle-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[esenas]\nidle = idle_module\n")
    (tmp_path / "idle_module.py").write_text("def register_my_task():  # no @hookimpl\n    pass\n")
    env = cli_env(PYTHONPATH=str(tmp_path))
    proc = subprocess.run(
        [sys.executable, "-m", "esenas_core.cli.main", "plugins"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    assert "entry point 'idle' (idle-plugin: idle_module) registers nothing" in proc.stderr


def test_a_duplicate_suggests_a_name_that_disables_the_plugin() -> None:
    class Dup:
        @hookimpl
        def esenas_register_controllers(self, register):
            register(RandomController)

    reg = Registries(get_plugin_manager(extra=[Dup()], entry_points=False))
    (broken,) = reg.broken
    module = f"{__name__}.Dup"
    assert broken.name == module  # what --disable-plugin takes, not the plugin's name 'random'
    assert "--disable-plugin esenas_plugins.controllers.random_search" in broken.reason
    assert f"--disable-plugin {module}" in broken.reason
    again = Registries(get_plugin_manager(extra=[Dup()], entry_points=False, block=[module]))
    assert again.broken == [] and again["controller"].get("random").source == "esenas"


@pytest.mark.slow
def test_esenas_check_fails_when_a_plugin_cannot_be_imported() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "esenas_core.cli.main", "check", "random", "--kind", "controller"],
        capture_output=True,
        text=True,
        env=cli_env(ESENAS_PLUGINS="no_such_plugin_module"),
        cwd=REPO,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "plugin no_such_plugin_module [no_such_plugin_module]: BROKEN: cannot import" in (
        proc.stdout
    )
    assert "controller random [esenas]: ok" in proc.stdout
    assert "1 broken" in proc.stderr


def test_esenas_check_kinds_come_from_the_registry() -> None:
    from esenas_core.api.plugins import KINDS
    from esenas_core.cli.plugins import check

    kind = next(p for p in check.params if p.name == "kinds")
    assert list(kind.type.choices) == list(KINDS)


def test_a_nan_initial_theta_names_the_search_space() -> None:
    class NanSpace(EdgesSearchSpace):
        name = "nan_edges"

        def init_params(self, rng: np.random.Generator) -> np.ndarray:
            theta = super().init_params(rng)
            theta[3] = np.nan
            return theta

    class Plugin:
        @hookimpl
        def esenas_register_search_spaces(self, register):
            register(NanSpace)

    reg = Registries(get_plugin_manager(extra=[Plugin()], entry_points=False))
    config = small_config(search_space={"name": "nan_edges", "hidden": [4], "k": 6})
    with pytest.raises(PluginError, match=r"\[search_space\] nan_edges: init_params\(\) returned"):
        make_trainer(reg, config)


def test_the_migration_note_lists_every_moved_module() -> None:
    text = textwrap.dedent((REPO / "docs" / "plugins.md").read_text(encoding="utf-8"))
    changelog = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    for old in MOVED_MODULES:
        if old.count(".") == 1 or old.startswith(("esenas_core.api.check", "esenas_core.runs.cli")):
            assert f"`{old}`" in text, old
    for name in MOVED_NAMES:
        assert f"`{name}`" in text, name
    assert "Porting a plugin" in changelog

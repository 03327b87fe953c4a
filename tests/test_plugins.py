"""Plugin manager and registries: built-ins, throwaway plugins, errors."""

from __future__ import annotations

import pytest
from conftest import make_trainer
from esenas_plugins.controllers.random_search import RandomController

from esenas_core import (
    Controller,
    DuplicatePluginError,
    PluginError,
    UnknownPluginError,
    hookimpl,
)
from esenas_core.api.plugins import Registries, get_plugin_manager


def test_builtins_registered_with_their_package() -> None:
    reg = Registries(get_plugin_manager())
    assert "edges" in reg["search_space"].names()
    assert {"random", "regularized_evolution"} <= set(reg["controller"].names())
    assert "serial" in reg["backend"].names()
    assert "gym" in reg["task"].names()
    assert reg["controller"].get("random").source == "esenas"


def test_unknown_name_lists_registered_names_and_suggests() -> None:
    reg = Registries(get_plugin_manager())
    with pytest.raises(UnknownPluginError) as info:
        reg["controller"].get("regularised_evolution")
    msg = str(info.value)
    assert "unknown controller 'regularised_evolution'" in msg
    assert "did you mean 'regularized_evolution'" in msg
    assert "random" in msg


class _Extra:
    """A throwaway third-party plugin registered next to the built-ins."""

    class Echo(RandomController):
        """Random search under another name."""

        name = "echo"

    @hookimpl
    def esenas_register_controllers(self, register):
        register(self.Echo)


def test_third_party_plugin_registers_like_builtins() -> None:
    reg = Registries(get_plugin_manager(extra=[_Extra()]))
    assert reg["controller"].get("echo").cls is _Extra.Echo


def test_duplicate_name_is_held_by_neither() -> None:
    class Dup:
        @hookimpl
        def esenas_register_controllers(self, register):
            register(RandomController)

    reg = Registries(get_plugin_manager(extra=[Dup()]))
    with pytest.raises(DuplicatePluginError, match="'random' is registered by 2 plugins"):
        reg["controller"].get("random")
    assert "regularized_evolution" in reg["controller"].names()  # the others still work
    assert any("'random' is registered twice" in b.reason for b in reg.broken)


def test_registering_a_non_plugin_class_breaks_only_that_plugin() -> None:
    class Bad:
        @hookimpl
        def esenas_register_controllers(self, register):
            register(RandomController.__mro__[0])  # fine on its own…
            register(dict)  # …but the plugin registers a non-plugin too: all of it is left out

    reg = Registries(get_plugin_manager(extra=[Bad()]))
    (broken,) = reg.broken
    assert "not a subclass of esenas_core.Controller" in broken.reason
    assert reg["controller"].get("random").source == "esenas"  # not registered twice


def test_misspelled_hook_is_reported() -> None:
    class Typo:
        @hookimpl
        def esenas_register_controler(self, register):
            pass

    pm = get_plugin_manager(extra=[Typo()])
    (broken,) = pm.broken
    assert "esenas_register_controler" in broken.reason
    assert "random" in Registries(pm)["controller"].names()


def test_a_raising_registration_hook_is_isolated() -> None:
    class Raises:
        @hookimpl
        def esenas_register_search_spaces(self, register):
            raise RuntimeError("cannot find my data files")

    reg = Registries(get_plugin_manager(extra=[Raises()]))
    (broken,) = reg.broken
    assert broken.reason.startswith("RuntimeError: cannot find my data files (at test_plugins.py:")
    assert "edges" in reg["search_space"].names()


def test_builtins_can_be_blocked() -> None:
    reg = Registries(get_plugin_manager(block=["esenas_plugins.controllers.random_search"]))
    assert "random" not in reg["controller"].names()
    assert issubclass(reg["controller"].get("regularized_evolution").cls, Controller)


def test_plugins_from_environment_variable(registries: Registries) -> None:
    assert "flaky" in registries["task"].names()


def test_unimportable_environment_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESENAS_PLUGINS", "no_such_module_xyz")
    reg = Registries(get_plugin_manager())
    (broken,) = reg.broken
    assert broken.name == "no_such_module_xyz"
    assert broken.reason.startswith("cannot import: ModuleNotFoundError")
    with pytest.raises(PluginError, match=r"plugin 'no_such_module_xyz' .* is broken"):
        reg["task"].get("my_task")


def test_lifecycle_hooks_receive_rows_and_summary() -> None:
    from conftest import small_config


    seen: dict[str, list] = {"start": [], "rows": [], "end": []}

    class Logger:
        @hookimpl
        def esenas_run_start(self, config, run_dir):
            seen["start"].append(config["seed"])

        @hookimpl
        def esenas_iteration_end(self, row, run_dir):
            seen["rows"].append(row["iteration"])

        @hookimpl
        def esenas_run_end(self, summary, run_dir):
            seen["end"].append(summary["iterations"])

    reg = Registries(get_plugin_manager(extra=[Logger()]))
    make_trainer(reg, small_config(iterations=2)).train()
    assert seen == {"start": [3], "rows": [1, 2], "end": [2]}

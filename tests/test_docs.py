"""Docs stay complete: every hook and every option of every built-in plugin is documented."""

from __future__ import annotations

import inspect

import attrs
import pytest
from conftest import REPO

from esenas_core import hookspecs
from esenas_core.config import ESConfig
from esenas_core.plugins import KINDS, Registries, get_plugin_manager

HOOKS = [
    name
    for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
    if name.startswith("esenas_")
]


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented(hook: str) -> None:
    assert f"### `{hook}(" in (REPO / "docs" / "hooks.md").read_text()


def _builtin_entries():
    reg = Registries(get_plugin_manager(entry_points=False))
    return [(kind, entry) for kind in KINDS for entry in reg[kind].entries.values()]


@pytest.mark.parametrize(
    ("kind", "entry"), _builtin_entries(), ids=lambda x: getattr(x, "name", str(x))
)
def test_every_builtin_option_is_documented(kind: str, entry) -> None:
    text = (REPO / "docs" / "configuration.md").read_text()
    section = text.split(f"### `{entry.name}`", 1)
    assert len(section) == 2, f"docs/configuration.md has no section for {kind} {entry.name!r}"
    body = section[1].split("\n### ", 1)[0]
    for field in attrs.fields(entry.cls.Options):
        assert f"| `{field.name}` |" in body, (
            f"{kind} {entry.name}: option {field.name} undocumented"
        )


def test_every_es_option_is_documented() -> None:
    text = (REPO / "docs" / "configuration.md").read_text()
    body = text.split("## `[es]`", 1)[1].split("\n## ", 1)[0]
    for field in attrs.fields(ESConfig):
        assert f"| `{field.name}` |" in body, field.name


def test_every_top_level_key_is_documented() -> None:
    from esenas_core.config import _TOP_KEYS

    body = (REPO / "docs" / "configuration.md").read_text().split("## Top level", 1)[1]
    body = body.split("\n## ", 1)[0]
    for key in _TOP_KEYS:
        assert f"| `{key}` |" in body, key

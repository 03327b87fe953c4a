"""Docs stay complete: every hook and every option of every built-in plugin is documented."""

from __future__ import annotations

import inspect
import posixpath
import re
import subprocess

import attrs
import pytest
from conftest import REPO

from esenas_core.api import hookspecs
from esenas_core.api.options import config_fields
from esenas_core.api.plugins import KINDS, Registries, get_plugin_manager
from esenas_core.engine.esconfig import ESConfig

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
    for field in config_fields(entry.cls.Options).values():
        assert f"| `{field.name}` |" in body, (
            f"{kind} {entry.name}: option {field.name} undocumented"
        )


def test_every_es_option_is_documented() -> None:
    text = (REPO / "docs" / "configuration.md").read_text()
    body = text.split("## `[es]`", 1)[1].split("\n## ", 1)[0]
    for field in attrs.fields(ESConfig):
        assert f"| `{field.name}` |" in body, field.name


def test_every_top_level_key_is_documented() -> None:
    from esenas_core.runs.config import _TOP_KEYS

    body = (REPO / "docs" / "configuration.md").read_text().split("## Top level", 1)[1]
    body = body.split("\n## ", 1)[0]
    for key in _TOP_KEYS:
        assert f"| `{key}` |" in body, key


def _tracked() -> set[str]:
    out = subprocess.run(
        ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    return set(out.splitlines())


DOCS = ["README.md", *sorted(str(p.relative_to(REPO)) for p in (REPO / "docs").rglob("*.md"))]
TREE = re.compile("[├└│]")  # lines of a directory drawing name paths relative to its root
GENERATED = ("bench/results/",)  # benchmark output, written by `make bench`
OUTSIDE = re.compile(r"(?<![\w/.-])((?:\.\./)+[\w/.-]+\.\w+)")
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
REPO_PATH = re.compile(
    r"(?<![\w/.-])((?:examples|bench|tests|docs|plugins|esenas_core)/[\w/.-]+\.\w+)"
)


@pytest.mark.parametrize("doc", DOCS)
def test_every_linked_or_named_file_is_in_the_repository(doc: str) -> None:
    """Relative links and repository paths named in the docs point at committed files (a fresh
    clone has nothing else), and no path named in them leaves the repository."""
    tracked = _tracked()
    text = (REPO / doc).read_text()
    base = posixpath.dirname(doc)
    missing = []
    for target in LINK.findall(text):
        if "://" in target or target.startswith("mailto:"):
            continue
        path = posixpath.normpath(posixpath.join(base, target))
        if path not in tracked and not any(t.startswith(path + "/") for t in tracked):
            missing.append(f"link {target}")
    for target in OUTSIDE.findall(text):  # ../x named in prose: a file of this repository
        path = posixpath.normpath(posixpath.join(base, target.rstrip(".")))
        if path not in tracked and not any(t.startswith(path + "/") for t in tracked):
            missing.append(f"path {target}")
    prose = "\n".join(line for line in text.splitlines() if not TREE.search(line))
    for path in REPO_PATH.findall(prose):
        path = path.rstrip(".")
        if path.startswith(GENERATED):
            continue
        if path not in tracked and not any(t.startswith(path + "/") for t in tracked):
            missing.append(f"path {path}")
    assert not missing, f"{doc}: not in the repository: {missing}"

"""Docs stay complete and true: every hook and every option of every built-in plugin is
documented, with the default the code has."""

from __future__ import annotations

import inspect
import posixpath
import re
import subprocess

import attrs
import pytest
import tomli_w
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
    for field in config_fields(ESConfig).values():
        assert f"| `{field.name}` |" in body, field.name


def test_every_stop_rule_is_documented_with_its_default() -> None:
    from esenas_core.engine.stopping import RULES, StopConfig

    body = (REPO / "docs" / "configuration.md").read_text().split("## `[stop]`", 1)[1]
    body = body.split("\n## ", 1)[0]
    assert [f.name for f in attrs.fields(StopConfig)] == list(RULES)
    for rule in RULES:
        assert f"| `{rule}` |" in body, rule
    assert _wrong_defaults(StopConfig, body) == []


def test_every_top_level_key_is_documented() -> None:
    from esenas_core.runs.config import _TOP_KEYS

    body = (REPO / "docs" / "configuration.md").read_text().split("## Top level", 1)[1]
    body = body.split("\n## ", 1)[0]
    for key in _TOP_KEYS:
        assert f"| `{key}` |" in body, key


ROW = re.compile(r"^\| `(\w+)` \| [^|]* \| ([^|]*) \|", re.M)  # | `key` | type | default | …


def _toml(value: object) -> str:
    """``value`` as a TOML value on one line (how the docs write a default)."""
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    return tomli_w.dumps({"x": value}).split(" = ", 1)[1].strip()


def _wrong_defaults(cls: type, body: str) -> list[str]:
    """Options of ``cls`` whose documented default (the first `…` of the row's default cell;
    none for a required option) is not the code's."""
    cells = {m.group(1): m.group(2).strip() for m in ROW.finditer(body)}
    wrong = []
    for field in attrs.fields(cls):
        if not field.init or field.name not in cells:
            continue
        value = field.default
        if isinstance(value, attrs.Factory):  # type: ignore[arg-type]
            value = value.factory(None) if value.takes_self else value.factory()
        code = None if value is attrs.NOTHING or value is None else _toml(value)
        shown = re.match(r"`([^`]*)`", cells[field.name])
        if (shown.group(1) if shown else None) != code:
            wrong.append(f"{field.name}: documented {cells[field.name]!r}, code {code}")
    return wrong


def test_documented_defaults_are_the_code_s() -> None:
    from esenas_core.runs.config import _TopLevel

    text = (REPO / "docs" / "configuration.md").read_text()
    wrong = []
    for kind, entry in _builtin_entries():
        body = text.split(f"### `{entry.name}`", 1)[1].split("\n### ", 1)[0]
        wrong += [f"{kind} {entry.name}: {w}" for w in _wrong_defaults(entry.cls.Options, body)]
    es = text.split("## `[es]`", 1)[1].split("\n## ", 1)[0]
    wrong += [f"es: {w}" for w in _wrong_defaults(ESConfig, es)]
    top = text.split("## Top level", 1)[1].split("\n## ", 1)[0]
    wrong += [f"top level: {w}" for w in _wrong_defaults(_TopLevel, top)]
    assert wrong == []


def test_the_defaults_check_catches_a_wrong_default() -> None:
    @attrs.frozen
    class Options:
        sigma: float = 0.05
        hidden: tuple[int, ...] = (16, 16)

    body = "| `sigma` | float | `0.1` | σ |\n| `hidden` | list | `[16, 16]` | sizes |\n"
    assert _wrong_defaults(Options, body) == ["sigma: documented '`0.1`', code 0.05"]


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

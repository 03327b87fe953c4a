"""``esenas plugins`` and ``esenas check``, and the ``--disable-plugin`` option of every
command."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import click

from esenas_core.api.errors import EsenasError


def _disable(ctx: click.Context, param: click.Parameter, names: Sequence[str]) -> None:
    """``--disable-plugin NAME``: added to ``$ESENAS_DISABLE_PLUGINS`` (worker processes inherit
    it) before any plugin loads."""
    if not names:
        return
    from esenas_core.api.plugins import DISABLE_ENV, disabled_plugins, get_registries

    os.environ[DISABLE_ENV] = ",".join(disabled_plugins(names))
    get_registries.cache_clear()


disable_plugin = click.option(
    "--disable-plugin",
    multiple=True,
    metavar="NAME",
    expose_value=False,
    is_eager=True,
    callback=_disable,
    help="Do not load this plugin (a module, entry-point or distribution name as `esenas"
    " plugins` lists them; repeatable; also $ESENAS_DISABLE_PLUGINS=a,b).",
)


@click.command()
@disable_plugin
def plugins() -> None:
    """List every registered plugin per kind with the package it came from, then the plugin
    modules (the names --disable-plugin takes) and any that are broken."""
    from esenas_core.api.plugins import KINDS, get_registries

    registries = get_registries()
    for kind in KINDS:
        click.echo(f"{kind}:")
        for name in registries[kind].names():
            entry = registries[kind].get(name)
            doc = (entry.cls.__doc__ or "").strip().splitlines()
            click.echo(f"  {name:<24} [{entry.source}] {doc[0] if doc else ''}")
    click.echo("logger:")
    for name in sorted(registries.loggers):
        problem = registries.loggers[name]()
        note = f" (unavailable: {problem})" if problem else ""
        click.echo(f"  {name:<24} [{registries.logger_sources[name]}]{note}")
    pm = registries.pm
    click.echo("plugin modules:")
    for name, _ in pm.list_name_plugin():
        click.echo(f"  {name} [{pm.sources.get(name, '?')}]")
    if pm.disabled:
        click.echo(f"disabled: {', '.join(pm.disabled)}")
    if registries.broken:
        click.echo("broken:")
        for broken in registries.broken:
            click.echo(f"  {broken.name} [{broken.source}] {broken.reason}")


def _kinds() -> list[str]:
    from esenas_core.api.plugins import KINDS

    return list(KINDS)


@click.command()
@click.argument("names", nargs=-1)
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    type=click.Choice(_kinds()),
    help="Only plugins of this kind (repeatable).",
)
@disable_plugin
def check(names: Sequence[str], kinds: Sequence[str]) -> None:
    """Run each registered plugin's conformance checker (or only NAMES): one line per plugin,
    then one per plugin that could not be imported or registered; exit status 1 if any failed
    or is broken."""
    from esenas_core.api.plugins import get_registries
    from esenas_core.cli.check import check_all

    registries = get_registries()
    failed, seen = 0, 0
    for entry, problem in check_all(registries, names, kinds):
        seen += 1
        where = f"{entry.kind} {entry.name} [{entry.source}]"
        click.echo(f"{where}: ok" if problem is None else f"{where}: FAILED: {problem}")
        failed += problem is not None
    if names and not seen and not registries.broken:
        raise EsenasError(f"no registered plugin is named {', '.join(names)}")
    for broken in registries.broken:
        click.echo(f"plugin {broken.name} [{broken.source}]: BROKEN: {broken.reason}")
    if failed or registries.broken:
        counts = [f"{failed} of {seen} plugins failed their checks"] if failed else []
        counts += [f"{len(registries.broken)} broken"] if registries.broken else []
        click.echo(f"esenas: {', '.join(counts)}", err=True)
        sys.exit(1)

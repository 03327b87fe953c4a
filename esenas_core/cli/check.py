"""``esenas check``: run each registered plugin's checker (one line per plugin)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from esenas_core.api.interfaces import TaskSpec
from esenas_core.api.options import config_fields
from esenas_core.api.plugin_calls import one_line
from esenas_core.api.plugins import KINDS, Entry, Registries
from esenas_core.checks import check_backend, check_controller, check_search_space, check_task
from esenas_core.checks.common import ConformanceError

TASK_SPECS = (TaskSpec(obs_dim=5, act_dim=2), TaskSpec(obs_dim=3, act_dim=1, discrete=True))


def check_entry(entry: Entry) -> list[str]:
    """The checks of ``entry``'s kind on its default options (backends: 2 workers)."""
    cls = entry.cls
    if entry.kind == "search_space":
        ran: list[str] = []
        for spec in TASK_SPECS:
            ran = check_search_space(cls(cls.Options(), spec))
        return ran
    if entry.kind == "controller":
        return check_controller(cls)
    if entry.kind == "task":
        return check_task(cls)
    if entry.kind == "estimator":
        from esenas_core.checks.estimator import check_estimator

        return check_estimator(cls)
    fields = config_fields(cls.Options)
    return check_backend(cls, cls.Options(workers=2) if "workers" in fields else None)


def check_all(
    registries: Registries, names: Sequence[str] = (), kinds: Sequence[str] = ()
) -> Iterator[tuple[Entry, str | None]]:
    """(entry, None) for each plugin that passes, (entry, why) for each that does not; only
    ``names`` / ``kinds`` when given."""
    for kind in kinds or KINDS:
        for name in registries[kind].names():
            if names and name not in names:
                continue
            entry = registries[kind].get(name)
            try:
                ran = check_entry(entry)
            except ConformanceError as exc:
                yield entry, str(exc)
            except Exception as exc:
                yield entry, one_line(exc)
            else:
                yield entry, None if ran else "no check ran"

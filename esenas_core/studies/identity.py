"""Which runs of a study can be reused, resumed or extended: runs are identified by their config.

A run's identity is its resolved config (``config.toml`` in the run folder, resolved with today's
plugins, so options added since the run ran count as their defaults) without the keys that only
say *how* it executes — ``backend`` (every backend computes bitwise the same numbers) and
``loggers``. ``config_sha256`` hashes that canonical TOML (keys sorted, seed included).

Per planned (variant, seed) run folder:

- ``new`` — no folder yet;
- ``reuse`` — finished, with the identical config;
- ``resume`` — checkpointed but unfinished, identical config;
- ``extend`` — identical except a larger ``iterations``: continues from the last checkpoint;
- ``restart`` — the folder holds the identical config but no checkpoint yet (killed early);
- ``changed`` — anything else, or a run made by an esenas of another results version
  (esenas_core.runs.rundir): never reused or resumed; replaced only with ``--rerun-changed``.

``study.json`` in the study folder records every planned run with its config hash and state.
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import tomli_w

from esenas_core.runs.checkpoint import checkpoint_iteration
from esenas_core.runs.rundir import RESULTS_VERSION, results_version
from esenas_core.studies.spec import Study, StudyRun

EXECUTION_KEYS = ("backend", "loggers")  # how a run executes, not what it computes


def canonical(config: Mapping[str, Any]) -> dict[str, Any]:
    """The identifying part of a config dict, keys sorted, values as TOML reads them back."""

    def sort(d: Mapping[str, Any]) -> dict[str, Any]:
        return {k: sort(v) if isinstance(v, Mapping) else v for k, v in sorted(d.items())}

    kept = {k: v for k, v in config.items() if k not in EXECUTION_KEYS}
    return sort(tomllib.loads(tomli_w.dumps(kept)))


def config_sha256(config: Mapping[str, Any]) -> str:
    return hashlib.sha256(tomli_w.dumps(canonical(config)).encode("utf-8")).hexdigest()


def _flat(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, Mapping) and v and k != "env_kwargs":
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Dotted key → (old value, new value) for every identifying key that differs."""
    a, b = _flat(canonical(old)), _flat(canonical(new))
    missing = "(unset)"
    return {
        k: (a.get(k, missing), b.get(k, missing))
        for k in sorted(set(a) | set(b))
        if a.get(k, missing) != b.get(k, missing)
    }


def _resolved(config: Mapping[str, Any]) -> Mapping[str, Any]:
    """A stored config resolved with today's plugins: an option added to a plugin after the run
    ran counts as its default (every option that existed then is written out in config.toml, so
    a changed default still shows as a difference). Unresolvable (a plugin or option gone): as
    stored."""
    from esenas_core.api.errors import EsenasError
    from esenas_core.api.plugins import get_registries
    from esenas_core.runs.config import build_config

    try:
        return build_config(config, get_registries(), "config.toml").to_dict()
    except (EsenasError, TypeError, ValueError):
        return config


@attrs.frozen
class RunDecision:
    run: StudyRun
    action: str  # new | reuse | resume | extend | restart | changed
    done: int = 0  # iterations already run (from the checkpoint)
    changes: Mapping[str, tuple[Any, Any]] = attrs.field(factory=dict)

    @property
    def sha256(self) -> str:
        return config_sha256(self.run.config.to_dict())


def classify(run: StudyRun) -> RunDecision:
    folder = run.run_dir
    if not folder.exists():
        return RunDecision(run, "new")
    new = run.config.to_dict()
    try:
        old = tomllib.loads((folder / "config.toml").read_text(encoding="utf-8"))
    except FileNotFoundError:
        if not any(folder.iterdir()):
            return RunDecision(run, "new")
        return RunDecision(run, "changed", changes={"config.toml": ("missing", "present")})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return RunDecision(run, "changed", changes={"config.toml": (f"unreadable: {exc}", "")})
    made_by = results_version(folder)
    if made_by != RESULTS_VERSION:  # other numbers for the same config: never reused
        return RunDecision(
            run, "changed", changes={"esenas results version": (made_by, RESULTS_VERSION)}
        )
    diff = differences(_resolved(old), new)
    done = checkpoint_iteration(folder)
    wanted = run.config.iterations
    if diff.keys() - {"iterations"}:
        return RunDecision(run, "changed", changes=diff)
    if done is None:
        if diff:
            return RunDecision(run, "changed", changes=diff)
        has_checkpoint = any((folder / n).exists() for n in ("checkpoint", "checkpoint.old"))
        if has_checkpoint or run.finished:  # damaged: never deleted without --rerun-changed
            return RunDecision(run, "changed", changes={"checkpoint": ("unreadable", "readable")})
        return RunDecision(run, "restart")  # killed before its first checkpoint
    if done > wanted:  # more iterations than asked for: a different run
        return RunDecision(run, "changed", done, diff or {"iterations": (done, wanted)})
    if done == wanted:
        return RunDecision(run, "reuse" if run.finished else "resume", done)
    if diff or run.finished:
        return RunDecision(run, "extend", done)
    return RunDecision(run, "resume", done)


def changed_message(study: Study, states: Sequence[RunDecision]) -> str:
    """One line naming every changed variant, its seeds and the keys that differ."""
    by_variant: dict[str, tuple[list[int], dict[str, tuple[Any, Any]]]] = {}
    for s in states:
        seeds, keys = by_variant.setdefault(s.run.variant.name, ([], {}))
        seeds.append(s.run.seed)
        keys.update(s.changes)
    parts = []
    for name, (seeds, keys) in by_variant.items():
        shown = ", ".join(f"{k} {_short(a)} → {_short(b)}" for k, (a, b) in list(keys.items())[:6])
        more = f" and {len(keys) - 6} more" if len(keys) > 6 else ""
        parts.append(f"{name} (seeds {', '.join(map(str, seeds))}): {shown}{more}")
    return (
        f"study {study.name}: {len(states)} run(s) ran with another config: {'; '.join(parts)};"
        " pass --rerun-changed to replace them (their run folders are deleted), or use another"
        " --out folder"
    )


def _short(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text if len(text) <= 40 else text[:37] + "..."


def write_manifest(
    study: Study,
    out: Path,
    states: Iterable[RunDecision],
    failed: Mapping[Path, str] | None = None,
) -> None:
    """study.json: every planned run, its config hash, what this invocation did with it and
    (after the runs) whether it finished."""
    data = {
        "study": study.name,
        "source": study.source,
        "seeds": list(study.seeds),
        "variants": [v.name for v in study.variants],
        "identity": f"sha256 of the resolved config.toml without {', '.join(EXECUTION_KEYS)}",
        "runs": [
            {
                "variant": s.run.variant.name,
                "seed": s.run.seed,
                "run_dir": str(s.run.run_dir.relative_to(out)),
                "config_sha256": s.sha256,
                "state": s.action,  # the file keeps its key (docs/ablation.md)
                "result": (
                    f"failed: {failed[s.run.run_dir]}"
                    if failed and s.run.run_dir in failed
                    else ("finished" if s.run.finished else "not finished")
                ),
            }
            for s in states
        ],
    }
    tmp = out / ".study.json.tmp"
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, out / "study.json")

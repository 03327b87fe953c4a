"""``esenas ablate`` as a function: plan, check run identities, execute, tabulate.

1. Every (variant, seed) config is built and validated before anything runs.
2. Each run folder is classified (``esenas_core.studies.identity``); if any run's config changed
   since it ran, nothing runs: a one-line ``ConfigError`` names the variants and keys, unless
   ``rerun_changed`` (then exactly those folders are deleted and run again).
3. The runs execute (``esenas_core.studies.execute``): sequentially in this process, in N
   processes, or on a dask cluster; ``study.json`` records each run's config hash.
4. ``results.md``, ``results.csv``, ``runs.csv``, ``improvement.csv`` (and ``relative.csv``) and
   ``curves.png`` are written from the finished runs of the current variants only
   (``esenas_core.studies.report``).
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable
from pathlib import Path

from esenas_core.api.errors import ConfigError, EsenasError
from esenas_core.api.plugins import get_registries
from esenas_core.studies.identity import RunDecision, changed_message, classify, write_manifest
from esenas_core.studies.spec import Study, StudyRun, plan


def run_study(
    study: Study,
    folder: Path,
    log: Callable[[str], None] = print,
    workers: int = 1,
    scheduler: str | None = None,
    rerun_changed: bool = False,
    quiet: bool = True,
) -> list[str]:
    """Run the study into ``folder``; returns one description per failed run (empty: all ran)."""
    from esenas_core.studies.execute import execute
    from esenas_core.studies.report import write_results

    parallel = workers > 1 or bool(scheduler)
    if scheduler:
        from esenas_core.studies.on_dask import check_address

        check_address(scheduler)
    with contextlib.ExitStack() as stack:
        pool = None
        if workers > 1 and not scheduler:  # started first: their start-up overlaps planning
            from esenas_core.studies.pool import ProcessPool

            pool = stack.enter_context(ProcessPool(workers, folder / "logs"))
        planned = plan(study, folder, get_registries(), parallel)  # validates every config
        _check_variants(planned)
        states = [classify(p) for p in planned]
        changed = [s for s in states if s.action == "changed"]
        if changed and not rerun_changed:
            raise ConfigError(changed_message(study, changed))
        folder.mkdir(parents=True, exist_ok=True)
        for i, s in enumerate(states):
            if s.action == "changed":
                shutil.rmtree(s.run.run_dir)
                log(f"{s.run.label}: config changed ({', '.join(s.changes)}); run folder replaced")
                states[i] = RunDecision(s.run, "new")
        _announce(study, folder, states, log, scheduler, workers)
        write_manifest(study, folder, states)
        client = None
        if scheduler:
            from esenas_core.studies.on_dask import connect

            client = connect(scheduler)
            stack.callback(client.close)
        tally = execute(
            states, log, pool=pool, client=client, quiet=quiet, logs_dir=folder / "logs"
        )
        if pool is not None:
            pool.release()
        write_manifest(study, folder, states, tally.failed)
        _warn_mixed_software(planned, log)
        write_results(study, planned, folder, log)
    log(
        f"results: {folder}/results.md, {folder}/results.csv, {folder}/runs.csv,"
        f" {folder}/improvement.csv, {folder}/curves.png"
        + (f", {folder}/relative.csv" if (folder / "relative.csv").exists() else "")
    )
    return [f"{p.label} ({tally.failed[p.run_dir]})" for p in planned if p.run_dir in tally.failed]


def _warn_mixed_software(planned: list[StudyRun], log: Callable[[str], None]) -> None:
    """One line when the runs' manifests (esenas.json) differ in what can change their bits."""
    from esenas_core.runs.manifest import manifest_differences, read_manifest

    diffs = manifest_differences([(p.label, read_manifest(p.run_dir)) for p in planned])
    if diffs:
        more = f" (and {len(diffs) - 1} more)" if len(diffs) > 1 else ""
        log(
            f"warning: this study's runs were made by different software, which can change"
            f" their numbers: {diffs[0]}{more} (esenas.json of each run)"
        )


def _announce(
    study: Study,
    folder: Path,
    states: list[RunDecision],
    log: Callable[[str], None],
    scheduler: str | None,
    workers: int,
) -> None:
    where = (
        f"dask scheduler {scheduler}"
        if scheduler
        else (f"{workers} processes" if workers > 1 else "this process")
    )
    counts = {k: sum(s.action == k for s in states) for k in ("reuse", "resume", "extend")}
    fresh = len(states) - sum(counts.values())
    log(
        f"study {study.name}: {len(study.variants)} variants × {len(study.seeds)} seeds → {folder}"
        f" ({counts['reuse']} reused, {counts['resume']} to resume, {counts['extend']} to extend,"
        f" {fresh} to run; in {where})"
    )
    for s in states:
        if s.action == "extend":
            log(
                f"{s.run.label}: iterations {s.done} → {s.run.config.iterations}, same config"
                f" otherwise: continues from its checkpoint at iteration {s.done}"
            )


def _check_variants(planned: list[StudyRun]) -> None:
    """Build one run's plugins per variant (environment id, k vs candidate edges, …), so that such
    errors stop the study before anything runs."""
    from esenas_core.engine.experiment import Experiment

    seen: set[str] = set()
    for p in planned:
        if p.variant.name in seen:
            continue
        seen.add(p.variant.name)
        try:
            Experiment.build(p.config, get_registries())
        except EsenasError as exc:
            raise ConfigError(f"variant {p.variant.name!r}: {exc}") from None

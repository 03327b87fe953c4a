"""The ``esenas`` command line.

Bad input (unknown plugin, unknown or mistyped key, impossible option, unknown env id, missing
file, bad TOML) prints one line to stderr and exits with status 2, leaving no run directory.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from esenas_core.api.errors import EsenasError
from esenas_core.cli.plugins import check, disable_plugin, plugins
from esenas_core.engine import interrupts


def _fail(message: str) -> None:
    click.echo(f"esenas: error: {message}", err=True)
    sys.exit(2)


def _show_warnings_as_one_line() -> None:
    """``EsenasWarning``: one ``esenas: warning: …`` line on stderr (other warnings as Python
    shows them)."""
    import warnings

    from esenas_core.api.errors import EsenasWarning

    default = warnings.formatwarning
    if getattr(default, "esenas", False):
        return

    def format_warning(message, category, filename, lineno, line=None):
        if issubclass(category, EsenasWarning):
            return f"esenas: warning: {message}\n"
        return default(message, category, filename, lineno, line)

    format_warning.esenas = True  # type: ignore[attr-defined]
    warnings.formatwarning = format_warning


class _Group(click.Group):
    """Turns every ``EsenasError`` (and ``OSError``: a full disk, a run directory that cannot be
    created) into a one-line message and exit status 2."""

    def invoke(self, ctx: click.Context) -> Any:
        interrupts.install(command_line=True)
        _show_warnings_as_one_line()
        try:
            try:
                return super().invoke(ctx)
            except (EsenasError, OSError):
                interrupts.check()  # an error that a Ctrl-C caused (an import cut short…)
                raise
        except EsenasError as exc:
            _fail(str(exc))
        except BrokenPipeError:  # `esenas plugins | head`: the reader left; stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(1)
        except OSError as exc:  # the file system or network: a full disk, a path that is a file
            where = f"{exc.filename}: " if exc.filename else ""
            _fail(f"{where}{exc.strerror or exc}")
        except KeyboardInterrupt:
            click.echo(interrupts.MESSAGE, err=True)
            sys.stdout.flush()
            sys.stderr.flush()  # the one line; what libraries print while exiting is dropped
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stderr.fileno())
            sys.exit(130)


@click.group(cls=_Group)
@click.version_option(package_name="esenas")
@disable_plugin
def main() -> None:
    """ES-ENAS: Evolution Strategies + neural architecture search for RL policies."""


@main.command()
@click.argument("config", type=click.Path(path_type=Path), required=False)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a config key, e.g. --set es.sigma=0.1 (repeatable).",
)
@click.option(
    "--run-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Where to write outputs (default: runs/<name>-<timestamp>).",
)
@click.option(
    "--resume",
    "resume_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Continue the run in this directory from its last checkpoint.",
)
@click.option("--force", is_flag=True, help="With --resume: accept a config that differs.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@disable_plugin
def run(
    config: Path | None,
    overrides: Sequence[str],
    run_dir: Path | None,
    resume_dir: Path | None,
    force: bool,
    quiet: bool,
) -> None:
    """Train with the config file CONFIG (or resume a run with --resume RUN_DIR)."""
    from esenas_core.runs.rundir import default_run_path
    from esenas_core.search.run import Search, resolve_config

    if resume_dir is not None:
        if run_dir is not None:
            raise EsenasError("--resume and --run-dir exclude each other")
        search = Search.resume(resume_dir, config, overrides=overrides, force=force)
    else:
        if config is None:
            raise EsenasError("missing CONFIG (or --resume RUN_DIR)")
        cfg = resolve_config(config, overrides)  # validated before any file exists
        search = Search(cfg, run_dir=run_dir or default_run_path(cfg.name))
    _train(search, quiet)


def _train(search: Any, quiet: bool) -> None:
    from tqdm import tqdm

    cfg, trainer = search.config, search.trainer
    click.echo(
        f"esenas: {' '.join(filter(None, [cfg.task.name, trainer.exp.task.label()]))}"
        f" | search space {cfg.search_space.name}"
        f" ({search.space.num_params} params) | controller {cfg.controller.name}"
        f" | backend {_label(cfg.backend.name, trainer.exp.backend.label())}"
        f" | iterations {search.iteration + 1}..{cfg.iterations}"
        f" → {search.run_dir}"
    )
    with tqdm(
        total=cfg.iterations,
        initial=search.iteration,
        disable=quiet,
        unit="it",
        dynamic_ncols=True,
        file=sys.stderr,
    ) as bar:

        def progress(row: dict[str, Any]) -> None:
            bar.set_postfix(score=f"{row['score_mean']:.1f}", best=f"{row['best_score']:.1f}")
            bar.update(1)

        search.run(progress)
    _print_summary(search.summary(), cfg, search.run_dir)


def _label(name: str, label: str) -> str:
    return f"{name} ({label})" if label else name


def _print_summary(s: dict[str, Any], cfg: Any, path: Path) -> None:
    def num(x: float) -> str:
        return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.2f}"

    stopped = f" (stopped by {s['stopped_by']})" if s.get("stopped_by") else ""
    click.echo(
        f"done: {s['iterations']} iterations{stopped}, {s['episodes']} episodes,"
        f" {s['env_steps']} env steps in {s['wall_time']:.1f} s"
    )
    click.echo(
        f"score (mean of {cfg.es.exact_evals} exact evals at θ): first iteration"
        f" {num(s['first_score'])} → final {num(s['final_score'])};"
        f" best single episode {num(s['best_score'])} (iteration {s['best_iteration']})"
    )
    size = s["best_size"]
    if size:
        of = f" of {size['candidate_edges']} candidate" if "candidate_edges" in size else ""
        live = (
            f" ({size['live_edges']} live: {size['live_multiplications']} multiplications per"
            " action)"
            if "live_edges" in size
            else f", {size['multiplications']} multiplications"
        )
        click.echo(
            f"best architecture: {size['edges']}{of} edges{live},"
            f" {size['params_in_use']} parameters in use"
            f" (mean edges proposed in the last iteration:"
            f" {num(s['size_mean'].get('edges', math.nan))})"
        )
    click.echo(f"outputs: {path}/ (config.toml, metrics.csv, best/, final/)")


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "--episodes", default=10, show_default=True, type=click.IntRange(min=1, max=1_000_000)
)
@click.option(
    "--seed",
    default=0,
    show_default=True,
    type=click.IntRange(min=0),
    help="Seed of the evaluation episodes' environment seeds.",
)
@click.option(
    "--video",
    type=click.Path(path_type=Path),
    default=None,
    help="Also render one episode to this GIF (environments that render headless).",
)
@click.option("--video-steps", default=1000, show_default=True, type=click.IntRange(min=1))
@disable_plugin
def evaluate(run_dir: Path, episodes: int, seed: int, video: Path | None, video_steps: int) -> None:
    """Replay the best architecture of RUN_DIR with its weights; print mean ± std return."""
    from esenas_core.api.plugins import get_registries
    from esenas_core.runs.evaluate import evaluate_best, record_video

    if video is not None and video.suffix.lower() != ".gif":
        raise EsenasError(f"{video}: videos are written as GIF; use a .gif file name")
    result = evaluate_best(run_dir, get_registries(), episodes=episodes, seed=seed)
    click.echo(
        f"{run_dir}: {episodes} episodes: return {result.mean:.2f} ± {result.std:.2f}"
        f" (min {result.returns.min():.2f}, max {result.returns.max():.2f});"
        f" recorded best episode {result.recorded_score:.2f}"
    )
    if video is not None:
        frames = record_video(run_dir, get_registries(), video, seed=seed, steps=video_steps)
        click.echo(f"video: {video} ({frames} frames)")


@main.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@disable_plugin
def report(run_dirs: Sequence[Path]) -> None:
    """Write RUN_DIR/report/: learning curves, best architecture picture, summary.md."""
    from esenas_core.api.plugins import get_registries
    from esenas_core.runs.manifest import manifest_text, read_manifest
    from esenas_core.runs.report import make_report

    for run_dir in run_dirs:
        out = make_report(run_dir, get_registries())
        click.echo(f"{run_dir}: made by {manifest_text(read_manifest(run_dir))}")
        click.echo(f"{run_dir}: report written to {out}/ (summary.md, *.png)")


@main.command()
@click.argument("study_file", type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Study folder (default: studies/<name>).",
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Run up to N (variant, seed) runs at once, each in its own process.",
)
@click.option(
    "--scheduler",
    default=None,
    metavar="ADDRESS",
    help="Submit each run as one task to this dask scheduler (tcp://HOST:PORT); the study"
    " folder must be on storage the workers share.",
)
@click.option(
    "--rerun-changed",
    is_flag=True,
    help="Replace runs whose config changed since they ran (deletes their run folders).",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@disable_plugin
def ablate(
    study_file: Path,
    out: Path | None,
    workers: int,
    scheduler: str | None,
    rerun_changed: bool,
    quiet: bool,
) -> None:
    """Run every (variant, seed) of STUDY_FILE and tabulate them with confidence intervals.

    A run is identified by its resolved config: a finished run is reused and an unfinished one
    resumed only when its config is identical; a larger `iterations` continues finished runs.
    """
    from esenas_core.engine.pool import max_local_workers
    from esenas_core.studies.driver import run_study
    from esenas_core.studies.spec import load_study

    if scheduler is not None and workers > 1:
        raise EsenasError("--workers and --scheduler exclude each other")
    if workers > max_local_workers():
        raise EsenasError(
            f"--workers {workers}: this machine runs at most {max_local_workers()} run processes"
            " (8 per core and one per 256 MiB)"
        )
    study = load_study(study_file)
    folder = out or Path("studies") / study.name
    failed = run_study(
        study,
        folder,
        log=click.echo,
        workers=workers,
        scheduler=scheduler,
        rerun_changed=rerun_changed,
        quiet=quiet,
    )
    if failed:
        click.echo(
            f"esenas: {len(failed)} run(s) failed: {'; '.join(failed)}; the tables hold the"
            " finished runs; re-run the same command to retry the failed ones",
            err=True,
        )
        sys.exit(1)


main.add_command(plugins)
main.add_command(check)


if __name__ == "__main__":
    main()

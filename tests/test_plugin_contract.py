"""The plugin contract end to end: one registry for driver and workers (``extra=`` plugins on
every backend), proposals validated by the aggregator, broken plugins isolated and reported in
one line, ``--disable-plugin`` on every command."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import tomli_w
from conftest import ESENAS, REPO, cli_env, make_trainer, small_config, start_dask_cluster
from contract_plugins import ExtraPlugin, FirstLayerSpace, LazySpace

from esenas_core import ConformanceError, TaskSpec, check_search_space
from esenas_core.api.plugins import Registries, get_plugin_manager, get_registries

pytestmark = pytest.mark.slow  # subprocesses, worker pools, dask or MuJoCo: `make test` only

PLUGINS = "esenas_test_plugins,contract_plugins"


def _cli(*args: str, plugins: str = PLUGINS, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*ESENAS, *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=cli_env(ESENAS_PLUGINS=plugins, **env),
        timeout=300,
    )


def _write(tmp_path: Path, **sections) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(tomli_w.dumps(small_config(**sections)))
    return path


def _one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("esenas: error:")]
    assert len(errors) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return errors[0]


# --- one registry ---------------------------------------------------------------------------------


def test_extra_plugins_train_on_every_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plugins registered only with ``extra=`` (not in $ESENAS_PLUGINS, so no worker's own
    registry knows them) train on serial, processes and dask, to the same θ."""
    monkeypatch.delenv("ESENAS_PLUGINS", raising=False)
    get_registries.cache_clear()
    reg = Registries(get_plugin_manager(extra=[ExtraPlugin()]))
    assert "hill" not in get_registries()["controller"].names()
    thetas = {}
    for backend in ("serial", "processes", "dask"):
        table = {"name": backend} if backend == "serial" else {"name": backend, backend: {}}
        if backend != "serial":
            table[backend]["workers"] = 2
        data = small_config(
            iterations=2,
            search_space={"name": "first_layer"},
            controller={"name": "hill"},
            backend=table,
        )
        trainer = make_trainer(reg, data)
        trainer.train()
        assert all(row["failures"] == 0 for row in trainer.history), backend
        thetas[backend] = trainer.theta
    get_registries.cache_clear()
    np.testing.assert_array_equal(thetas["processes"], thetas["serial"])
    np.testing.assert_array_equal(thetas["dask"], thetas["serial"])


def test_space_that_ignores_its_architecture_is_caught() -> None:
    spec = TaskSpec(obs_dim=4, act_dim=2)
    check_search_space(FirstLayerSpace(FirstLayerSpace.Options(), spec))
    with pytest.raises(ConformanceError, match="reads θ outside its param_mask"):
        check_search_space(LazySpace(LazySpace.Options(), spec))


# --- the aggregator validates proposals ----------------------------------------------------------


@pytest.mark.parametrize(
    ("controller", "expected"),
    [
        ("short", "[controller] short: propose(8) returned (7, 20)"),
        ("out_of_range", "[controller] out_of_range: propose(8) returned an invalid genome 0"),
        ("float_genomes", "[controller] float_genomes: propose(8) returned an invalid"),
    ],
)
def test_bad_proposals_stop_the_run_in_one_line(tmp_path: Path, controller, expected) -> None:
    proc = _cli("run", str(_write(tmp_path, controller={"name": controller})), "--run-dir",
                str(tmp_path / "run"), "--quiet")  # fmt: skip
    assert expected in _one_line_error(proc)


def test_non_json_state_fails_in_one_line_and_leaves_no_temporary(tmp_path: Path) -> None:
    run = tmp_path / "run"
    config = _write(tmp_path, controller={"name": "non_json"})
    proc = _cli("run", str(config), "--run-dir", str(run), "--quiet")
    line = _one_line_error(proc)
    assert "[controller] non_json: state() must return JSON-serializable data" in line
    assert not (run / "checkpoint.tmp").exists() and not (run / "checkpoint").exists()


# --- isolation ----------------------------------------------------------------------------------


def test_constructor_errors_name_the_plugin(tmp_path: Path) -> None:
    proc = _cli("run", str(_write(tmp_path, controller={"name": "crashing"})), "--quiet")
    line = _one_line_error(proc)
    assert "[controller] crashing (contract_plugins) failed to start: ZeroDivisionError" in line
    assert "contract_plugins.py:" in line  # where it was raised
    config = _write(tmp_path, search_space={"name": "picky"})
    line = _one_line_error(_cli("run", str(config), "--quiet"))
    assert line == f"esenas: error: {config}: [search_space] picky: k must be even"


def test_a_raising_lifecycle_hook_is_one_line(tmp_path: Path) -> None:
    proc = _cli("run", str(_write(tmp_path, name="hook-crash")), "--run-dir", str(tmp_path / "r"))
    line = _one_line_error(proc)
    assert "plugin 'contract_plugins' (contract_plugins): esenas_run_start raised KeyError" in line


def test_a_module_that_fails_to_import_is_isolated(tmp_path: Path) -> None:
    plugins = f"{PLUGINS},contract_broken_import"
    listing = _cli("plugins", plugins=plugins)
    assert listing.returncode == 0, listing.stderr
    assert "contract_broken_import [contract_broken_import] cannot import: ModuleNotFoundError" in (
        listing.stdout
    )
    assert "hill " not in listing.stdout and "short" in listing.stdout  # the others still load
    config = _write(tmp_path, iterations=1)
    ok = _cli("run", str(config), "--quiet", "--run-dir", str(tmp_path / "run"), plugins=plugins)
    assert ok.returncode == 0, ok.stderr
    warnings = [line for line in ok.stderr.splitlines() if "contract_broken_import" in line]
    assert len(warnings) == 1 and warnings[0].startswith("esenas: warning: plugin")
    unknown = _write(tmp_path, controller={"name": "from_broken"})
    line = _one_line_error(_cli("run", str(unknown), plugins=plugins))
    assert "unknown controller 'from_broken'" in line
    assert "plugin 'contract_broken_import' (contract_broken_import) is broken" in line


def test_disable_plugin_on_every_command(tmp_path: Path) -> None:
    plugins = f"{PLUGINS},contract_broken_import"
    off = ["--disable-plugin", "contract_broken_import"]
    run = tmp_path / "run"
    proc = _cli("run", *off, str(_write(tmp_path, iterations=1)), "--quiet", "--run-dir", str(run),
                plugins=plugins)  # fmt: skip
    assert proc.returncode == 0 and "warning" not in proc.stderr, proc.stderr
    edges = ["--disable-plugin", "esenas_plugins.search_spaces.edges"]
    for command in (["evaluate", str(run)], ["report", str(run)]):
        line = _one_line_error(_cli(command[0], *edges, *command[1:]))
        assert "unknown search_space 'edges'" in line, command
        assert _cli(command[0], *off, *command[1:], plugins=plugins).returncode == 0, command
    listing = _cli("--disable-plugin", "esenas", "plugins")  # a distribution: all built-ins
    assert "regularized_evolution" not in listing.stdout and "short" in listing.stdout
    assert "disabled: esenas" in listing.stdout
    env_off = _cli("plugins", ESENAS_DISABLE_PLUGINS="contract_plugins")
    assert "short " not in env_off.stdout and "random " in env_off.stdout
    study = tmp_path / "study.toml"
    study.write_text(
        tomli_w.dumps(
            {
                "name": "s",
                "seeds": [1],
                "base": small_config(iterations=1),
                "variants": {"a": {"iterations": 1}},
            }
        )
    )
    line = _one_line_error(_cli("ablate", *edges, str(study), "--out", str(tmp_path / "study")))
    assert "unknown search_space 'edges'" in line


# --- external dask clusters -----------------------------------------------------------------------


def test_dask_workers_without_the_runs_plugins_are_refused(tmp_path: Path) -> None:
    """A worker that cannot import the run's task plugin: one line naming the worker and the
    module before the first iteration (not failed rollouts after retries)."""
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ESENAS_PLUGINS")}
    with start_dask_cluster(tmp_path, env, workers=1, cwd=tmp_path) as (address, _):
        config = _write(
            tmp_path,
            task={"name": "flaky", "flaky": {"env_id": "CartPole-v1", "max_episode_steps": 20}},
            backend={"name": "dask", "dask": {"address": address}},
        )
        proc = _cli("run", str(config), "--quiet", "--run-dir", str(tmp_path / "run"))
        line = _one_line_error(proc)
        assert "[backend] dask: workers do not match this process's plugins" in line
        assert "esenas_test_plugins (esenas_test_plugins) cannot be imported" in line
        assert "tcp://127.0.0.1:" in line  # the worker's address


def test_esenas_check_names_each_broken_plugin_in_one_line() -> None:
    names = [
        "lazy",
        "short",
        "out_of_range",
        "float_genomes",
        "non_json",
        "picky",
        "edges",
        "random",
    ]
    proc = _cli("check", *names)
    assert proc.returncode == 1, proc.stderr
    lines = dict(line.split(": ", 1) for line in proc.stdout.splitlines())
    assert lines["search_space edges [esenas]"] == "ok"
    assert lines["controller random [esenas]"] == "ok"
    assert "reads θ outside its param_mask" in lines["search_space lazy [contract_plugins]"]
    assert "propose(1) returned (0," in lines["controller short [contract_plugins]"]
    assert "invalid genome" in lines["controller out_of_range [contract_plugins]"]
    assert "dtype float64, not integers" in lines["controller float_genomes [contract_plugins]"]
    assert "not JSON-serializable" in lines["controller non_json [contract_plugins]"]
    assert "k must be even" in lines["search_space picky [contract_plugins]"]
    assert "6 of 8 plugins failed" in proc.stderr


def test_a_worker_reports_plugins_at_other_versions() -> None:
    """What a worker answers the driver's plugin check (run on each new dask worker)."""
    from esenas_core import __version__
    from esenas_core.backends import check_worker_plugins

    assert check_worker_plugins([("esenas_core", "esenas", __version__)]) == []
    assert check_worker_plugins([("esenas_core", "esenas", "9.9.9")]) == [
        f"esenas is {__version__} here, 9.9.9 on the driver"
    ]
    assert check_worker_plugins([("json", "no-such-dist", "1.0")]) == [
        "no-such-dist is not installed here, 1.0 on the driver"
    ]
    (problem,) = check_worker_plugins([("no_such_module_xyz", "x", None)])
    assert problem.startswith("no_such_module_xyz (x) cannot be imported: ModuleNotFoundError")


def test_an_installed_plugin_that_fails_to_import_names_its_distribution(tmp_path: Path) -> None:
    """A real entry point (a distribution found on the path) whose module raises on import."""
    dist = tmp_path / "esenas_broken_pkg-1.2.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: esenas-broken-pkg\nVersion: 1.2\n")
    (dist / "entry_points.txt").write_text("[esenas]\nbroken_space = esenas_broken_mod\n")
    (tmp_path / "esenas_broken_mod.py").write_text("raise RuntimeError('missing data file')\n")
    env = {"PYTHONPATH": f"{tmp_path}:{cli_env()['PYTHONPATH']}"}
    listing = _cli("plugins", **env)
    assert listing.returncode == 0, listing.stderr
    assert "broken_space [esenas-broken-pkg] cannot import: RuntimeError: missing data file" in (
        listing.stdout
    )
    warning = [line for line in listing.stderr.splitlines() if "broken_space" in line]
    assert warning == [
        "esenas: warning: plugin 'broken_space' (esenas-broken-pkg) is broken: cannot import:"
        " RuntimeError: missing data file (at esenas_broken_mod.py:1); it is left out (turn it off"
        " with --disable-plugin broken_space or ESENAS_DISABLE_PLUGINS=broken_space)"
    ]
    quiet = _cli("plugins", "--disable-plugin", "esenas-broken-pkg", **env)
    assert "broken_space" not in quiet.stdout + quiet.stderr

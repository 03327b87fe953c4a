"""A complete checkpoint at every instant: crash at every filesystem step of a save (twice in a
row, the second save starting from what the first crash left) and a resume still loads."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import make_trainer, small_config

from esenas_core.api.plugins import Registries
from esenas_core.engine.trainer import Trainer
from esenas_core.runs import checkpoint
from esenas_core.runs.rundir import RunDirectory

pytestmark = pytest.mark.slow  # subprocesses, worker pools, dask or MuJoCo: `make test` only


class Crash(Exception):
    pass


class Injector:
    """Makes the k-th filesystem step (rename, rmtree, mkdir, fsync) raise ``Crash``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, k: int) -> None:
        self.k, self.calls = k, 0
        for owner, name in ((Path, "rename"), (Path, "mkdir"), (shutil, "rmtree"), (os, "fsync")):
            original = getattr(owner, name)
            monkeypatch.setattr(owner, name, self.wrap(original))

    def wrap(self, original):
        def step(*args, **kwargs):
            self.calls += 1
            if self.calls == self.k:
                raise Crash(f"step {self.k}")
            return original(*args, **kwargs)

        return step


def trainer(registries: Registries, run_dir: Path | None = None) -> Trainer:
    config = small_config(
        iterations=3, checkpoint_every=1, task={"name": "hybrid"},
        search_space={"name": "edges", "hidden": [4], "k": 6},
    )  # fmt: skip
    return make_trainer(registries, config, RunDirectory(run_dir) if run_dir else None)


def steps_of_a_save(registries: Registries, tmp_path: Path) -> int:
    run = tmp_path / "count"
    run.mkdir()
    t = trainer(registries, run)
    t.step()
    with pytest.MonkeyPatch.context() as mp:
        inj = Injector(mp, k=-1)
        checkpoint.save(t.snapshot(0.0), run)
    return inj.calls


def test_a_crash_at_any_step_of_two_saves_leaves_a_loadable_checkpoint(
    registries: Registries, tmp_path: Path
) -> None:
    steps = steps_of_a_save(registries, tmp_path)
    assert steps >= 7
    source = trainer(registries)
    for _ in range(2):
        source.step()
    base = tmp_path / "base"
    base.mkdir()
    checkpoint.save(source.snapshot(0.0), base)  # a complete checkpoint at iteration 2
    later = trainer(registries)
    for _ in range(3):
        later.step()
    for k1 in range(1, steps + 1):
        for k2 in range(1, steps + 2):
            run = tmp_path / f"r{k1}-{k2}"
            shutil.copytree(base, run)
            for k in (k1, k2):  # two saves in a row, each crashed at its k-th step
                with pytest.MonkeyPatch.context() as mp:
                    Injector(mp, k)
                    try:
                        checkpoint.save(later.snapshot(1.0), run)
                    except Crash:
                        pass
            fresh = trainer(registries)
            fresh.restore(checkpoint.load(run))
            assert fresh.iteration in (2, 3), (k1, k2, sorted(p.name for p in run.iterdir()))
            shutil.rmtree(run)

"""Starting or continuing a run in its folder: the one way ``esenas run`` and ``esenas ablate``
open runs."""

from __future__ import annotations

import shutil
from pathlib import Path

from esenas_core.engine.experiment import Experiment
from esenas_core.engine.trainer import Trainer
from esenas_core.runs.manifest import write_manifest
from esenas_core.runs.recorder import FolderRecorder
from esenas_core.runs.rundir import RunDirectory


def open_run(experiment: Experiment, path: Path, resume: bool) -> Trainer:
    """A trainer for ``experiment`` writing into ``path``: continued from the folder's last
    checkpoint (``resume``: its metrics after the checkpoint are dropped, a stale ``final/`` is
    removed, ``config.toml`` is rewritten once the checkpoint has loaded), or started in a new
    folder (``RunDirectory.create``: an existing one is refused). Either way ``esenas.json``
    gets the manifest of this process (esenas_core.runs.manifest)."""
    config = experiment.config
    if resume:
        directory = RunDirectory(path)
        trainer = Trainer(experiment, FolderRecorder(directory, config, experiment.space))
        trainer.resume()
        directory.write_text("config.toml", config.to_toml())
        write_manifest(directory, experiment)
        shutil.rmtree(path / "final", ignore_errors=True)  # stale once the run goes on
        return trainer
    directory = RunDirectory.create(path)
    directory.write_text("config.toml", config.to_toml())
    write_manifest(directory, experiment)
    return Trainer(experiment, FolderRecorder(directory, config, experiment.space))

"""Writes that a crash cannot leave half done: a file replaced in one rename, a folder swapped in
whole."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np


def atomic_write(path: Path, write: Callable[[IO[Any]], object], binary: bool = False) -> None:
    """``write(fh)`` into a temporary file next to ``path``, fsync it, rename it over ``path``."""
    tmp = path.with_name(f".{path.name}.tmp")
    fh: IO[Any]
    with open(tmp, "wb") if binary else open(tmp, "w", encoding="utf-8", newline="") as fh:
        write(fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_folder(
    final: Path,
    arrays: Mapping[str, Mapping[str, np.ndarray]] = {},
    documents: Mapping[str, Any] = {},
) -> None:
    """Replace the folder ``final`` as one unit: every ``.npz`` (name → arrays) and JSON
    document (name → data, or already serialized text) goes to ``final.tmp/``, which is then
    swapped in (``swap_in``)."""
    tmp = final.with_name(final.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    for name, content in arrays.items():
        atomic_write(tmp / name, _savez(content), binary=True)
    for name, data in documents.items():
        text = data if isinstance(data, str) else json.dumps(data, indent=2, sort_keys=True)
        atomic_write(tmp / name, _text(text))
    fsync_dir(tmp)
    swap_in(tmp, final)


def _savez(arrays: Mapping[str, np.ndarray]) -> Callable[[IO[Any]], None]:
    return lambda fh: np.savez(fh, **arrays)  # type: ignore[arg-type]


def _text(text: str) -> Callable[[IO[Any]], object]:
    return lambda fh: fh.write(text)


def swap_in(tmp: Path, final: Path) -> None:
    """Replace the folder ``final`` by the complete folder ``tmp``.

    At every instant a complete ``final`` or ``final.old`` exists (readers take the old one when
    ``final`` is missing): the old folder is removed only after the new one is in place, and a
    leftover ``final.old`` is only discarded while ``final`` exists. The parent directory is
    fsynced after each rename.
    """
    old = final.with_name(final.name + ".old")
    if final.exists():
        shutil.rmtree(old, ignore_errors=True)
        final.rename(old)
        fsync_dir(final.parent)
    tmp.rename(final)
    fsync_dir(final.parent)
    shutil.rmtree(old, ignore_errors=True)


def fsync_dir(path: Path) -> None:
    """Make a directory's entries (renames, new files) durable; a no-op where unsupported."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)

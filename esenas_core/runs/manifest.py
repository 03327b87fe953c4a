"""The run manifest in ``esenas.json``: what made the run — esenas and its results version,
Python and the libraries whose arithmetic a run's numbers rest on, every plugin's distribution
and version, the CPU, and the git commit of a checkout.

``BIT_KEYS`` are the entries that can change a run's bits; a study warns when its runs differ
in one of them (``manifest_differences``).
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import platform
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import esenas_core
from esenas_core.api.plugins import KINDS
from esenas_core.engine.experiment import Experiment, plugin_requirements
from esenas_core.runs.rundir import RESULTS_VERSION, RunDirectory

LIBRARIES = ("numpy", "gymnasium", "mujoco", "numba", "dask", "scipy")
#: what can change a run's numbers (the CPU cannot: docs/algorithm.md#determinism)
BIT_KEYS = ("results_version", "esenas", "python", "numpy", "gymnasium", "mujoco", "numba")


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return None


@functools.cache
def cpu() -> dict[str, str]:
    """The CPU model and its widest SIMD level (Linux: /proc/cpuinfo; elsewhere the platform's
    processor string and "unknown")."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").split("\n"):
            key, _, value = line.partition(":")
            if key.strip() == "model name" and value.strip():
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
            if flags and model:
                break
    except OSError:
        pass
    simd = "unknown"
    for flag, name in (("avx512f", "AVX-512"), ("avx2", "AVX2"), ("avx", "AVX"), ("sse2", "SSE2")):
        if flag in flags:
            simd = name + (" + FMA" if "fma" in flags and name != "SSE2" else "")
            break
    return {"model": model, "simd": simd}


@functools.cache
def git_commit(start: Path | None = None) -> str | None:
    """The commit of the checkout esenas runs from (``+dirty`` with uncommitted changes), or
    None (an installed wheel, no git)."""
    root = (start or Path(__file__)).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+dirty" if dirty else "") if head else None


def manifest(experiment: Experiment) -> dict[str, Any]:
    """The manifest of a run of ``experiment`` made by this process."""
    registries = experiment.registries
    plugins = {}
    for kind in KINDS:
        name = getattr(experiment.config, kind).name
        [(module, dist, version)] = plugin_requirements([registries[kind].get(name)]) or [
            (None, None, None)
        ]
        plugins[kind] = {"name": name, "module": module, "distribution": dist, "version": version}
    return {
        "results_version": RESULTS_VERSION,
        "esenas": _version("esenas") or esenas_core.__version__,
        "python": platform.python_version(),
        **{lib: _version(lib) for lib in LIBRARIES},
        "plugins": plugins,
        "cpu": dict(cpu()),  # a copy: cpu() is cached
        "git_commit": git_commit(),
    }


def write_manifest(directory: RunDirectory, experiment: Experiment) -> None:
    """``esenas.json`` of the run: the manifest of the process that writes it now (a resumed
    run's is the resuming process's)."""
    directory.write_text("esenas.json", json.dumps(manifest(experiment), indent=1) + "\n")


def read_manifest(run_dir: Path) -> dict[str, Any]:
    """``esenas.json`` of ``run_dir`` ({} when missing or unreadable)."""
    try:
        data = json.loads((Path(run_dir) / "esenas.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def bit_entries(data: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of a manifest that can change a run's bits (plugins: distribution
    versions)."""
    out = {k: data.get(k) for k in BIT_KEYS}
    plugins = data.get("plugins")
    if isinstance(plugins, Mapping):
        for kind, p in sorted(plugins.items()):
            if isinstance(p, Mapping):
                out[f"plugins.{kind}"] = f"{p.get('distribution')} {p.get('version')}"
    return out


def manifest_differences(manifests: Sequence[tuple[str, Mapping[str, Any]]]) -> list[str]:
    """``"key: a (run x) vs b (run y)"`` for each bit-relevant entry where runs differ (runs
    without a manifest — made before it existed — are left out)."""
    seen: dict[str, tuple[Any, str]] = {}
    out: list[str] = []
    for label, data in manifests:
        if not data or "python" not in data:
            continue
        for key, value in bit_entries(data).items():
            if key not in seen:
                seen[key] = (value, label)
            elif seen[key][0] != value and not any(o.startswith(f"{key}:") for o in out):
                out.append(f"{key}: {seen[key][0]} ({seen[key][1]}) vs {value} ({label})")
    return out


def manifest_text(data: Mapping[str, Any]) -> str:
    """A manifest in one line (``esenas report``), or a note that the run has none."""
    if not data or "python" not in data:
        return "no manifest (made by esenas before 0.3, or esenas.json is missing)"
    libs = ", ".join(f"{lib} {data.get(lib)}" for lib in LIBRARIES if data.get(lib))
    plugins = data.get("plugins")
    plugins = plugins if isinstance(plugins, Mapping) else {}
    named = ", ".join(
        f"{kind} {p.get('name')} ({p.get('distribution')} {p.get('version')})"
        for kind, p in plugins.items()
        if isinstance(p, Mapping)
    )
    cpu_ = data.get("cpu")
    cpu_ = cpu_ if isinstance(cpu_, Mapping) else {}
    commit = data.get("git_commit")
    return (
        f"esenas {data.get('esenas')} (results version {data.get('results_version')}),"
        f" Python {data.get('python')}, {libs}; plugins: {named}; CPU {cpu_.get('model')}"
        f" ({cpu_.get('simd')})" + (f"; git commit {commit}" if commit else "")
    )

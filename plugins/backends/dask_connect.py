"""Reaching the ``dask`` backend's cluster: its options checked, a ``LocalCluster`` started (TLS,
no HTTP pages, dask's periodic work turned down) or an existing scheduler connected."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from esenas_core import ConfigError, RunError
from esenas_core.backends import THREAD_VARS, start_failure_hint

# LocalCluster settings: dask's own bookkeeping turned down (the sampling profiler, 20 ms ticks,
# fast monitors, work stealing): idle, its processes use 1.7 % of a core instead of 7.3 %
# (docs/benchmarks.md). Workers of an external cluster use their own configuration.
LOCAL_CLUSTER_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.scheduler.work-stealing": False,
}
NO_HTTP_CONFIG: dict[str, Any] = {"distributed.scheduler.http.routes": [],  # no HTTP page
                                  "distributed.worker.http.routes": []}  # fmt: skip


def check_options(opts: Any) -> None:
    """One ConfigError line for an address, TLS file or TLS combination that cannot work."""
    where = "[backend] dask"
    address = opts.address
    if address:
        scheme, sep, rest = address.partition("://")
        if (sep and scheme not in ("tcp", "tls", "ucx")) or not (rest if sep else address).strip():
            raise ConfigError(
                f"{where}: address {address!r} is not a scheduler address; expected"
                " tcp://HOST:PORT or tls://HOST:PORT"
            )
    for key in ("tls_ca_file", "tls_client_cert", "tls_client_key"):
        path = getattr(opts, key)
        if path and not os.path.isfile(path):
            raise ConfigError(f"{where}: {key} {path!r}: no such file")
    tls = [opts.tls_ca_file, opts.tls_client_cert, opts.tls_client_key]
    if any(tls) and not all(tls):
        raise ConfigError(f"{where}: TLS needs tls_ca_file, tls_client_cert and tls_client_key")


def connect(opts: Any) -> tuple[Any, Any]:
    """(client, cluster) for ``opts`` (``DaskOptions``): a new LocalCluster when ``address`` is
    empty (cluster None otherwise). An unreachable address is a ``ConfigError``, workers that
    cannot start a ``RunError`` with the likely cause."""
    from distributed import Client

    cluster = None
    try:
        if opts.address:
            client = Client(opts.address, security=_security(opts), timeout=opts.connect_timeout)
        else:
            import dask

            config = dict(LOCAL_CLUSTER_CONFIG)
            if not opts.dashboard:
                config.update(NO_HTTP_CONFIG)
            with dask.config.set(config):
                try:
                    cluster = _local_cluster(opts)
                except RuntimeError as exc:  # "Nanny failed to start."
                    raise RunError(
                        f"[backend] dask: the local cluster's workers failed to start ({exc});"
                        f" {start_failure_hint()}"
                    ) from None
                client = Client(cluster)
            if opts.dashboard:
                print(f"esenas: dask dashboard at {cluster.dashboard_link}", file=sys.stderr)
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        raise ConfigError(f"[backend] dask: cannot connect to {opts.address!r}: {exc}") from None
    return client, cluster


def _security(opts: Any) -> Any:
    if not (opts.tls_ca_file or opts.tls_client_cert or opts.tls_client_key):
        return None
    from distributed.security import Security

    return Security(
        tls_ca_file=opts.tls_ca_file or None,
        tls_client_cert=opts.tls_client_cert or None,
        tls_client_key=opts.tls_client_key or None,
        require_encryption=True,
    )


def _local_cluster(opts: Any) -> Any:
    from distributed import LocalCluster

    return LocalCluster(
        n_workers=opts.workers or os.cpu_count() or 1,
        security=opts.local_tls or None,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
        scheduler_kwargs={"dashboard": opts.dashboard},
        silence_logs=logging.CRITICAL,  # its workers' errors reach the run as results
        env={name: "1" for name in THREAD_VARS},
    )

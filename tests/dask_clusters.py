"""The settings every test ``LocalCluster`` starts with (imported by the dask test modules).

A scheduler always runs an HTTP server, for its health and metrics routes, even with
``dashboard_address=None``: that only turns the dashboard's pages off, and the server still
binds the default port 8787, moving to a random port with a ``UserWarning`` when a dashboard
of another cluster already holds it. Binding port 0 on the loopback interface asks the system
for a free port from the start: no warning, and nothing listens beyond this machine.
"""

import logging

QUIET_PORTS = {
    "dashboard_address": None,
    "scheduler_kwargs": {"dashboard_address": "127.0.0.1:0"},
}


def local_cluster(local_directory, **settings):
    """A ``LocalCluster`` on free ports that logs errors only; ``settings`` override the rest."""
    import distributed

    options = {
        "n_workers": 2,
        "threads_per_worker": 1,
        "processes": True,
        "silence_logs": logging.ERROR,
        "local_directory": str(local_directory),
        **QUIET_PORTS,
    }
    return distributed.LocalCluster(**{**options, **settings})

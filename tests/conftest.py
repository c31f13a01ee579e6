"""Fixtures shared by several test modules, and the environment of the suite's processes."""

import os

# After each BLAS call OpenBLAS's threads spin for 2**28 cycles (about 0.1 s) before they
# sleep: harmless in one process, but the suite runs in several worker processes
# (pytest-xdist, see pyproject.toml) beside the dask test clusters' workers, and one
# process's spinning threads took the cores from the others (on 2 cores, two workers: 117 s
# against 71 s with a 2**4-cycle spin, and 100 s in a single process). This file is read
# before the workers start, and they inherit the environment; a value already set wins.
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

import pytest
from dask_clusters import local_cluster


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """A ``LocalCluster`` (2 worker processes, 1 thread each, free ports) and its client, for
    the tests of one module: closed after it, so that no client thread allocates while
    another module measures memory. A module that needs another kind of cluster (memory
    limits, killed workers) defines its own ``client``."""
    distributed = pytest.importorskip("distributed")
    cluster = local_cluster(tmp_path_factory.mktemp("dask-workers"))
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()

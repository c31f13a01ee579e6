"""Fixtures shared by several test modules."""

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

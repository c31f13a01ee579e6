"""What skconv's estimators share about dask arrays, without importing dask.

dask is an optional extra: nothing here imports it, and an estimator imports it only when it
is given a dask array (then it is already imported).
"""

from __future__ import annotations

import sys


def is_dask_array(X) -> bool:
    """Whether X is a ``dask.array.Array``; never imports dask.

    If ``dask.array`` has not been imported, X cannot be one of its arrays.
    """
    dask_array = sys.modules.get("dask.array")
    return dask_array is not None and isinstance(X, dask_array.Array)

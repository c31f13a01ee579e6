"""The thread runner of the compute core, and BLAS held to one thread while it runs.

:func:`run_in_threads` shares a list of work items among ``n_jobs`` threads;
:func:`single_threaded_blas` is the context in which every product of the core runs.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from joblib import effective_n_jobs
from threadpoolctl import ThreadpoolController

_blas_controller = None


def single_threaded_blas():
    """A context in which BLAS uses one thread; the library scan is done once per process."""
    global _blas_controller
    if _blas_controller is None:
        _blas_controller = ThreadpoolController()
    return _blas_controller.limit(limits=1, user_api="blas")


def run_in_threads(run_items, items: list, n_jobs: int) -> None:
    """Run ``run_items(item_iterator, workers)`` on ``n_jobs`` threads sharing the items.

    Threads take the next item when they finish one, so a thread that the OS preempts (other
    processes, a busy virtual machine) does not hold the others back. Every item is computed
    the same way whichever thread takes it, so the results do not depend on ``n_jobs``.
    ``workers`` is the number of threads an item may use itself (scipy.fft) when there are
    fewer items than ``n_jobs``. The threads come from ``concurrent.futures`` rather than
    joblib, whose result loop polls every 10 ms: that added 10-15 ms to every call, as much
    as the whole work of a mid-sized batch.
    """
    n_jobs = effective_n_jobs(n_jobs)
    n_threads = max(1, min(n_jobs, len(items)))
    workers = max(1, n_jobs // n_threads)
    # Products this small run fastest on one BLAS thread, and threads on top would
    # oversubscribe; one thread also makes the results independent of n_jobs.
    with single_threaded_blas():
        if n_threads == 1:
            run_items(iter(items), workers)
            return
        pending = iter(items)
        lock = threading.Lock()

        def shared_items():
            while True:
                with lock:
                    item = next(pending, None)
                if item is None:
                    return
                yield item

        with ThreadPoolExecutor(max_workers=n_threads - 1) as executor:
            others = [
                executor.submit(run_items, shared_items(), workers) for _ in range(n_threads - 1)
            ]
            run_items(shared_items(), workers)
            for future in others:
                future.result()

"""The thread runner of the compute core, and BLAS held to one thread while it runs.

:func:`run_in_threads` shares a list of work items among ``n_jobs`` threads;
:func:`single_threaded_blas` is the context in which every product of the core runs: it
holds BLAS at one thread while any thread of the process is inside it, and leaves BLAS's
thread counts as it found them once the last one leaves.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import threadpoolctl
from joblib import effective_n_jobs
from threadpoolctl import ThreadpoolController

# BLAS's thread count is one process-wide setting, but several threads may run skconv's core at
# once (n_jobs, a thread pool, dask's threaded scheduler). A limit per call would read as
# "original" the limit of a call still running and restore that: BLAS would stay at one
# thread for good. So the calls share one limit: the first to enter sets it, the last to leave
# restores what BLAS had before the first entered.
_blas_lock = threading.Lock()
_blas_users = 0
_blas_limiter = None
_blas_controller = None


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """A context in which every BLAS that threadpoolctl sees uses one thread.

    Contexts entered from any number of threads share one limit, counted under a lock: BLAS's
    thread counts are read when the count goes from 0 to 1 and restored when it goes back to
    0, also when the body raises. The library scan is done once per process.
    """
    global _blas_users, _blas_limiter, _blas_controller
    with _blas_lock:
        if _blas_users == 0:
            if _blas_controller is None:
                _blas_controller = ThreadpoolController().select(user_api="blas")
            with _in_control_of_openblas():
                _blas_limiter = _blas_controller.limit(limits=1, user_api="blas")
        _blas_users += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0:
                with _in_control_of_openblas():
                    _blas_limiter.restore_original_limits()
                _blas_limiter = None


@contextmanager
def _in_control_of_openblas() -> Iterator[None]:
    """Let this thread set OpenBLAS's thread count, whichever thread set it last.

    threadpoolctl (3.8) lets only one "controlling" thread set the thread count of an
    OpenBLAS with a process-wide pool, and silently ignores the others: the thread that
    restores the count is often not the one that limited it, and its restore would not
    take. Clearing the controlling thread before and after the change (under
    ``_blas_lock``) makes the change take and leaves no thread holding control.
    """
    clear = getattr(
        getattr(threadpoolctl, "OpenBLASController", None), "clear_controlling_thread", None
    )
    if clear is not None:
        clear(force=True)
    try:
        yield
    finally:
        if clear is not None:
            clear(force=True)


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

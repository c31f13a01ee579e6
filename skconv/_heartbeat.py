"""The progress of a whole command-line run, printed by a small watcher process.

A thread of the working process cannot promise a line every few seconds: scipy's LAPACK calls
(the eigendecomposition of the kernel head, PCA's SVD) hold Python's global lock for their
whole length, tens of seconds on large inputs. So the run tells a separate Python process,
this file run as a script, when each stage starts and ends (and each unit of work of a stage
that counts them); that process prints the elapsed time and the time left every few seconds,
whatever the working process is doing. This module imports nothing but the standard library,
so the watcher starts in milliseconds.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from contextlib import contextmanager


def duration(seconds: float) -> str:
    """``"42 s"``, ``"3 min 05 s"`` or ``"1 h 02 min"``."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class RunState:
    """Stages done and under way, and the time left of the run they make up.

    Each stage has its usual share of the run's time (any positive weights). The time left is
    extrapolated from the stages finished so far (their time over their shares), or, inside a
    stage that counts units of work (the fits of a grid search), from the units done. A stage
    that outlasts its share is taken as ending now, so the estimate grows rather than reaching
    zero early. Before any stage has ended, the shares alone give the estimate.
    """

    def __init__(self, shares: dict[str, float], now: float):
        total = sum(shares.values())
        self.names = list(shares)
        self.shares = [weight / total for weight in shares.values()]
        self.started = self.stage_started = now
        self.stage: int | None = None
        self.done_time = self.done_share = 0.0
        self.n_units = self.units_done = 0

    def begin(self, name: str, n_units: int, now: float) -> None:
        self.stage, self.stage_started = self.names.index(name), now
        self.n_units, self.units_done = n_units, 0

    def end(self, now: float) -> None:
        self.done_time += now - self.stage_started
        self.done_share += self.shares[self.stage]
        self.stage = None

    def unit_done(self) -> None:
        self.units_done += 1

    def time_left(self, now: float) -> float:
        in_stage = now - self.stage_started if self.stage is not None else 0.0
        share = self.shares[self.stage] if self.stage is not None else 0.0
        spent = self.done_time + in_stage
        if self.n_units and self.units_done:
            total = spent / (self.done_share + share * min(self.units_done / self.n_units, 1))
        elif self.done_share:
            total = max(self.done_time / self.done_share, spent / (self.done_share + share))
        else:  # the first stage: as if it were just ending
            total = spent / share
        return max(total - spent, 0.0)

    def line(self, now: float) -> str:
        stage = ""
        if self.stage is not None:
            units = f", {self.units_done}/{self.n_units}" if self.n_units else ""
            stage = f"; stage {self.stage + 1}/{len(self.names)} ({self.names[self.stage]}{units})"
        return (
            f"[skconv] {duration(now - self.started)} elapsed{stage}; about "
            f"{duration(self.time_left(now))} left in all"
        )


class RunProgress:
    """Tell a watcher process about the stages of a run; it prints every ``every`` seconds.

    Use as a context manager around the run, and :meth:`stage` around each stage.
    """

    def __init__(self, shares: dict[str, float], *, every: float = 10.0):
        self.shares, self.every = shares, every
        self._lock = threading.Lock()

    def __enter__(self) -> RunProgress:
        sys.stdout.flush()
        self._watcher = subprocess.Popen(
            [sys.executable, "-I", __file__, json.dumps(self.shares), str(self.every)],
            stdin=subprocess.PIPE,
            text=True,
        )
        return self

    def __exit__(self, *exc_info) -> None:
        self._watcher.stdin.close()
        self._watcher.wait()

    def _send(self, message: dict) -> None:
        with self._lock:
            self._watcher.stdin.write(json.dumps(message) + "\n")
            self._watcher.stdin.flush()

    @contextmanager
    def stage(self, name: str, n_units: int = 0):
        """A stage of the run (a name of ``shares``), with ``n_units`` units if it counts."""
        self._send({"begin": name, "n_units": n_units})
        try:
            yield
        finally:
            self._send({"end": name})

    def unit_done(self) -> None:
        """One more unit of the current stage is done (from any thread)."""
        self._send({"unit": 1})

    @contextmanager
    def stages_marked_by(self, estimator: object, ends: dict[str, str], poll: float = 0.5):
        """Stages run inside one call, each ended when ``estimator`` gets the attribute
        ``ends[name]`` (a fitted attribute the call sets), checked every ``poll`` seconds.

        The last stage ends when the call returns, whatever attributes it set.
        """
        names, current, returned = list(ends), [0], threading.Event()
        self._send({"begin": names[0], "n_units": 0})

        def follow() -> None:
            while not returned.wait(poll):
                while current[0] < len(names) - 1 and hasattr(estimator, ends[names[current[0]]]):
                    self._send({"end": names[current[0]]})
                    current[0] += 1
                    self._send({"begin": names[current[0]], "n_units": 0})

        thread = threading.Thread(target=follow, daemon=True)
        thread.start()
        try:
            yield
        finally:
            returned.set()
            thread.join()
            self._send({"end": names[current[0]]})
            for name in names[current[0] + 1 :]:
                self._send({"begin": name, "n_units": 0})
                self._send({"end": name})


def _watch(shares: dict[str, float], every: float) -> None:
    """The watcher: apply the messages read from stdin, print a line every ``every`` s."""
    import time

    state = RunState(shares, time.monotonic())
    lock, finished = threading.Lock(), threading.Event()

    def read() -> None:
        for message in map(json.loads, sys.stdin):
            with lock:
                if "begin" in message:
                    state.begin(message["begin"], message["n_units"], time.monotonic())
                elif "end" in message:
                    state.end(time.monotonic())
                else:
                    state.unit_done()
        finished.set()

    threading.Thread(target=read, daemon=True).start()
    while not finished.wait(every):
        with lock:
            print(state.line(time.monotonic()), flush=True)


if __name__ == "__main__":
    _watch(json.loads(sys.argv[1]), float(sys.argv[2]))

"""The two errors every loader of :mod:`skconv.datasets` raises about data, not about code."""

from __future__ import annotations

import os


class DataNotFoundError(FileNotFoundError):
    """The data a loader needs is nowhere it looks; the message says how to get it.

    A :class:`FileNotFoundError`, so ``except FileNotFoundError`` still catches it. Its message
    is several short lines written for someone at a command line: print it as it is.
    """


class DataFileError(ValueError):
    """A file holds something other than what it must: corrupt, truncated, or another set.

    A :class:`ValueError` whose message names the file (also kept as ``path``) and says what
    was found and what to do.
    """

    def __init__(self, path: str | os.PathLike, message: str):
        super().__init__(message)
        self.path = str(path)

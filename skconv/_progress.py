"""Progress of long transforms on stdout, in the style of scikit-learn's ``verbose``."""

from __future__ import annotations

import time

# One batch's feature maps take about this much memory when batches are sized automatically.
AUTO_BATCH_BYTES = 64 * 2**20


def auto_batch_size(bytes_per_image: int) -> int:
    """Images per batch so that one batch's maps take about ``AUTO_BATCH_BYTES`` (at least 1)."""
    return max(1, AUTO_BATCH_BYTES // max(1, bytes_per_image))


class Progress:
    """Report batches done, items (images, or rows) per second and time left.

    ``verbose=0`` prints nothing; ``1`` prints about ten lines (every batch of roughly each
    tenth of the work, and the last); ``2`` or more prints every batch. Lines look like
    ``[ConvPool] batch 3/10, 300/1000 images, 2500 images/s, 0.3 s left``.
    """

    def __init__(
        self, label: str, n_images: int, n_batches: int, verbose: int, *, unit: str = "images"
    ):
        self.label, self.n_images, self.n_batches = label, n_images, n_batches
        self.every = 1 if verbose >= 2 else max(1, round(n_batches / 10))
        self.verbose, self.unit = verbose, unit
        self.start = time.perf_counter()

    def batch_done(self, batch: int, n_done: int) -> None:
        """Batch number ``batch`` (1-based) finished, ``n_done`` items in all so far."""
        if not self.verbose:
            return
        if batch % self.every and batch != self.n_batches:
            return
        elapsed = max(time.perf_counter() - self.start, 1e-9)
        rate = n_done / elapsed
        left = (self.n_images - n_done) / rate
        print(
            f"[{self.label}] batch {batch}/{self.n_batches}, {n_done}/{self.n_images} "
            f"{self.unit}, {rate:.0f} {self.unit}/s, {left:.1f} s left",
            flush=True,
        )

"""Measure skconv's two convolution algorithms and fit the cost rule of ``method="auto"``.

Run ``python benchmarks/cost_rule.py`` on an idle machine. It times ``convolve`` with
``method="gemm"`` and ``method="fft"`` (one thread, float32) over a grid of image sizes, kernel
sizes, channels, filters, paddings and strides, fits the weights of the cost model in
``skconv._engine.cost.cost_terms`` to the timings, and prints them with how often the fitted rule
picks the slower algorithm. The weights go to ``skconv/_engine/cost_weights.json``, the one place
``skconv._engine.cost`` reads them from; the measurements to ``benchmarks/cost_rule.json``.
``--quick`` runs a small grid and writes nothing; ``--from-json`` refits the saved
measurements.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

HERE = Path(__file__).resolve().parent
try:
    import skconv  # noqa: F401
except ImportError:  # run from a source checkout without installing
    sys.path.insert(0, str(HERE.parent))
from skconv._engine.convolution import convolve  # noqa: E402
from skconv._engine.cost import cost_terms  # noqa: E402
from skconv._engine.geometry import resolve_padding  # noqa: E402

# The weights file that skconv._engine.cost reads.
WEIGHTS_PATH = HERE.parent / "skconv" / "_engine" / "cost_weights.json"
WEIGHTS_ABOUT = (
    "Weights of the cost model behind convolve(method='auto'): each algorithm's estimated "
    "seconds are these weights times the counts of skconv._engine.cost.cost_terms. Written by "
    "benchmarks/cost_rule.py; do not edit by hand."
)

# Each timed call does about this many multiply-adds (gemm) so that it takes tens of ms.
TARGET_WORK = 3e7


def best_seconds(images, bank, method, padding, stride, repeats=3):
    convolve(images[:1], bank, method=method, padding=padding, stride=stride)
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        convolve(images, bank, method=method, padding=padding, stride=stride)
        best = min(best, time.perf_counter() - start)
    return best


def measure(quick: bool) -> list[dict]:
    rng = np.random.default_rng(0)
    sizes = [16, 64, 256] if quick else [16, 32, 64, 128, 256]
    kernels = [1, 5, 15] if quick else [1, 3, 5, 7, 9, 11, 15, 21]
    channels = [1, 3] if quick else [1, 3, 16]
    filters = [4, 32] if quick else [4, 16, 64]
    rows = []
    grid = itertools.product(sizes, kernels, channels, filters, ["valid", "same"], [1, 2])
    for size, kernel, n_channels, n_filters, padding_name, step in grid:
        if kernel > size or (step == 2 and (padding_name == "valid" or n_channels > 1)):
            continue
        padding = resolve_padding(padding_name, (kernel, kernel))
        stride = (step, step)
        work, _ = cost_terms(
            (size, size), (kernel, kernel), 1, n_channels, n_filters, stride, padding
        )
        n_images = int(np.clip(TARGET_WORK / work[0], 1, 2000))
        n_images = max(1, min(n_images, int(4e7 / (size * size * (n_channels + n_filters) * 8))))
        # Halve the batch in every other case so that per-call and per-image costs separate.
        n_images = max(1, n_images // (1 + len(rows) % 2))
        images = rng.random((n_images, size, size, n_channels), dtype=np.float32)
        bank = rng.standard_normal((n_filters, kernel, kernel, n_channels)).astype(np.float32)
        row = dict(
            size=size,
            kernel=kernel,
            channels=n_channels,
            filters=n_filters,
            padding=padding_name,
            stride=step,
            images=n_images,
        )
        for method in ("gemm", "fft"):
            row[method] = best_seconds(images, bank, method, padding, stride)
        rows.append(row)
        print(
            f"{n_images:4d} x {size:3d}px k={kernel:2d} C={n_channels:2d} F={n_filters:2d} "
            f"{padding_name:5s} s={step}: gemm {row['gemm']:.2e}s fft {row['fft']:.2e}s",
            flush=True,
        )
    return rows


def fit(terms: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    """Non-negative constants minimising the squared log error of ``terms @ constants``."""

    def log_error(log_constants):
        return np.log(terms @ np.exp(log_constants)) - np.log(seconds)

    start = np.log(np.median(seconds[:, None] / terms, axis=0))
    return np.exp(least_squares(log_error, start).x)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small grid (smoke run)")
    parser.add_argument("--from-json", action="store_true", help="refit the saved timings")
    parser.add_argument(
        "--fitted-on",
        default="float32 timings, one thread, 2-core AMD EPYC (Zen 4), OpenBLAS "
        "(benchmarks/cost_rule.json)",
        help="the machine the timings come from, recorded in the weights file",
    )
    args = parser.parse_args(argv)
    path = HERE / "cost_rule.json"
    if args.from_json:
        rows = json.loads(path.read_text())
    else:
        rows = measure(args.quick)
        if not args.quick:
            path.write_text("[\n" + ",\n".join(json.dumps(row) for row in rows) + "\n]\n")
    terms = [
        cost_terms(
            (row["size"],) * 2,
            (row["kernel"],) * 2,
            row["images"],
            row["channels"],
            row["filters"],
            (row["stride"],) * 2,
            resolve_padding(row["padding"], (row["kernel"],) * 2),
        )
        for row in rows
    ]
    gemm_terms = np.array([gemm for gemm, _ in terms], dtype=float)
    fft_terms = np.array([fft for _, fft in terms], dtype=float)
    gemm_seconds = np.array([row["gemm"] for row in rows])
    fft_seconds = np.array([row["fft"] for row in rows])
    gemm_constants = fit(gemm_terms, gemm_seconds)
    fft_constants = fit(fft_terms, fft_seconds)
    picks_fft = fft_terms @ fft_constants < gemm_terms @ gemm_constants
    chosen = np.where(picks_fft, fft_seconds, gemm_seconds)
    slowdown = chosen / np.minimum(gemm_seconds, fft_seconds)
    weights = {
        "about": WEIGHTS_ABOUT,
        "fitted_on": args.fitted_on,
        # Three significant digits: the fit is not more precise than that.
        "gemm": [float(f"{c:.3g}") for c in gemm_constants],
        "fft": [float(f"{c:.3g}") for c in fft_constants],
    }
    print("gemm weights:", weights["gemm"])
    print("fft weights:", weights["fft"])
    if not args.quick:
        WEIGHTS_PATH.write_text(json.dumps(weights, indent=2) + "\n")
        print(f"wrote {WEIGHTS_PATH}")
    for name, terms, seconds, constants in (
        ("gemm", gemm_terms, gemm_seconds, gemm_constants),
        ("fft", fft_terms, fft_seconds, fft_constants),
    ):
        error = np.exp(np.abs(np.log(terms @ constants / seconds)))
        median, tail = np.median(error), np.quantile(error, 0.9)
        print(f"{name} model error: median x{median:.2f}, 90% x{tail:.2f}")
    print(
        f"rule picks the slower algorithm in {int((slowdown > 1).sum())} of {len(rows)} cases; "
        f"mean slowdown x{slowdown.mean():.3f}, worst x{slowdown.max():.2f}"
    )
    for i in np.argsort(-slowdown)[:5]:
        row = rows[i]
        print(
            f"  worst: {row['images']} x {row['size']}px k={row['kernel']} C={row['channels']} "
            f"F={row['filters']} "
            f"{row['padding']} s={row['stride']}: gemm {row['gemm']:.2e}s fft {row['fft']:.2e}s"
        )


if __name__ == "__main__":
    main()

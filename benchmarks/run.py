"""Time skconv against PyTorch's CPU conv2d / max_pool2d, scipy.ndimage and the tutorial's loops.

Run ``python benchmarks/run.py`` from a source checkout (or with skconv installed). Every tool
gets the same number of threads (``--threads``, default all cores); the loops are
single-threaded by nature. Times are medians of ``--repeats`` runs (default 7, at least 5)
after a warm-up run, the tools of a case taking turns; the slow loops run on a subset of the
images (or of the output rows) and are extrapolated linearly, which their per-image
(per-pixel) structure makes exact up to noise.

The script prints every time and ratio (skconv time / peer time), writes them to
``benchmarks/results.json``, and rewrites the table between the markers in
``docs/performance.rst``. ``--quick`` is a smoke run on small inputs that writes nothing.
PyTorch is optional: without it, its columns say so.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import scipy
import scipy.ndimage as ndi
import sklearn
from skimage.util.shape import view_as_windows
from threadpoolctl import threadpool_info, threadpool_limits

HERE = Path(__file__).resolve().parent
try:
    import skconv
except ImportError:  # run from a source checkout without installing
    sys.path.insert(0, str(HERE.parent))
    import skconv
from skconv import ConvFeatureExtractor, ConvPool, PoolTransformer  # noqa: E402

try:
    import torch
except ImportError:
    torch = None

DOCS_PAGE = HERE.parent / "docs" / "performance.rst"
TABLE_START = ".. benchmark-table-start"
TABLE_END = ".. benchmark-table-end"
MIB = 2**20
# Every timed round, for results.json: the spread behind each median.
RAW_TIMES = []


# --------------------------------------------------------------------------- timing helpers


def median_seconds(functions, repeats, prefault_bytes=0):
    """Median wall time of each function over ``repeats`` rounds, after a warm-up round.

    Each round calls every function once, in turn, so that the load of other processes on
    the machine falls on all of them alike. Before every call, ``prefault_bytes`` of memory
    are touched and freed: this virtual machine returns freed memory to its host within about
    a second, and faulting it back then costs up to seconds per GiB, far more than the
    computation, and more or less depending on what ran before. Touching the output's size
    first gives every tool the same start: memory the guest kernel still holds, which each
    tool then faults in and zeroes as on an ordinary machine.
    """
    times = {name: [] for name in functions}
    for round_ in range(repeats + 1):
        for name, function in functions.items():
            gc.collect()
            np.ones(prefault_bytes // 4, dtype=np.float32)
            start = time.perf_counter()
            function()
            if round_:
                times[name].append(time.perf_counter() - start)
    RAW_TIMES.append({name: [round(t, 5) for t in values] for name, values in times.items()})
    return {name: statistics.median(values) for name, values in times.items()}


def traced_peak(function):
    """Peak bytes allocated (tracemalloc) while ``function`` runs, and its result."""
    gc.collect()
    tracemalloc.start()
    try:
        result = function()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, result


# --------------------------------------------------------------------------- the peers


def tutorial_feature_map(image, kernel, n_rows=None):
    """The "CNN from scratch" tutorial's conv2d, rewritten: a window per output pixel.

    As in the tutorial, the window view of the whole image is rebuilt for every pixel, the
    window multiplied by the kernel and summed, and the map averaged over the kernel's
    elements. ``n_rows`` stops after that many output rows (for timing a subset).
    """
    rows = image.shape[0] - kernel.shape[0] + 1
    cols = image.shape[1] - kernel.shape[1] + 1
    feature_map = np.zeros((rows, cols))
    for row in range(rows if n_rows is None else n_rows):
        for col in range(cols):
            window = view_as_windows(image, kernel.shape, step=1)[row][col]
            feature_map[row, col] = np.sum(np.multiply(kernel, window))
    return feature_map / kernel.size


def tutorial_pool(feature_map, size, stride):
    """The tutorial's pool2d: an as_strided window view per map, reduced with max."""
    out_shape = (
        (feature_map.shape[0] - size) // stride + 1,
        (feature_map.shape[1] - size) // stride + 1,
    )
    row_stride, col_stride = feature_map.strides
    windows = np.lib.stride_tricks.as_strided(
        feature_map,
        shape=(*out_shape, size, size),
        strides=(stride * row_stride, stride * col_stride, row_stride, col_stride),
    )
    return windows.reshape(-1, size, size).max(axis=(1, 2)).reshape(out_shape)


def ndimage_conv(images, bank):
    """Valid cross-correlation, one ``scipy.ndimage.correlate`` call per image and filter."""
    kernel_rows, kernel_cols = bank.shape[1:3]
    top, left = kernel_rows // 2, kernel_cols // 2
    out_rows = images.shape[1] - kernel_rows + 1
    out_cols = images.shape[2] - kernel_cols + 1
    maps = np.empty((len(images), out_rows, out_cols, len(bank)), dtype=images.dtype)
    for i, image in enumerate(images[..., 0]):
        for f, kernel in enumerate(bank[..., 0]):
            full = ndi.correlate(image, kernel, mode="constant")
            maps[i, :, :, f] = full[top : top + out_rows, left : left + out_cols]
    return maps


def ndimage_max_pool(maps, size, stride):
    """One ``scipy.ndimage.maximum_filter`` per image, then every ``stride``-th window."""
    out_rows = (maps.shape[1] - size) // stride + 1
    out_cols = (maps.shape[2] - size) // stride + 1
    pooled = np.empty((len(maps), out_rows, out_cols, maps.shape[3]), dtype=maps.dtype)
    centre = size // 2  # maximum_filter centres the window on this cell
    for i, image_maps in enumerate(maps):
        filtered = ndi.maximum_filter(image_maps, size=(size, size, 1))
        pooled[i] = filtered[
            centre : centre + (out_rows - 1) * stride + 1 : stride,
            centre : centre + (out_cols - 1) * stride + 1 : stride,
        ]
    return pooled


def torch_no_grad():
    """``torch.no_grad()``, or a context that does nothing without PyTorch."""
    return contextlib.nullcontext() if torch is None else torch.no_grad()


def torch_nchw(array):
    """A (n, H, W, C) float array as a contiguous NCHW tensor (copied once, outside timing)."""
    return torch.from_numpy(np.ascontiguousarray(array.transpose(0, 3, 1, 2)))


# --------------------------------------------------------------------------- the cases


class Report:
    def __init__(self, repeats, threads):
        self.repeats, self.threads = repeats, threads
        self.rows = []

    def time(self, prefault_bytes=0, **functions):
        """Median seconds of each keyword's function, timed in alternation."""
        return median_seconds(functions, self.repeats, prefault_bytes)

    def add(self, **row):
        self.rows.append(row)
        parts = [
            f"{key}={value:.4g}" if isinstance(value, float) else f"{key}={value}"
            for key, value in row.items()
        ]
        print("  " + ", ".join(parts), flush=True)


def conv_case(report, name, n_images, size, n_filters, kernel, target, subsets, seed):
    """Valid convolution of random float32 images with a random bank, no activation."""
    print(f"\n{name}", flush=True)
    rng = np.random.default_rng(seed)
    images = rng.random((n_images, size, size, 1), dtype=np.float32)
    bank = rng.standard_normal((n_filters, kernel, kernel, 1)).astype(np.float32)
    conv = ConvFeatureExtractor(
        filters=bank, padding="valid", activation=None, n_jobs=report.threads
    ).fit(images)
    out_shape = (n_images, size - kernel + 1, size - kernel + 1, n_filters)
    functions = dict(
        skconv=lambda: conv.transform(images),
        floor=lambda: np.ones(out_shape, dtype=np.float32),
    )
    if torch is not None:
        inputs, weights = torch_nchw(images), torch_nchw(bank)
        inputs_last = inputs.contiguous(memory_format=torch.channels_last)
        functions["torch_nchw"] = lambda: torch.nn.functional.conv2d(inputs, weights)
        functions["torch_channels_last"] = lambda: torch.nn.functional.conv2d(inputs_last, weights)
    with torch_no_grad():
        seconds = report.time(prefault_bytes=4 * np.prod(out_shape), **functions)
        row = dict(case=name, target=target, **seconds)
    reference = conv.transform(images[:2])
    row["method"] = conv.method_
    if torch is not None:
        row["torch"] = min(row["torch_nchw"], row["torch_channels_last"])
        with torch.no_grad():
            check = torch.nn.functional.conv2d(inputs[:2], weights).numpy()
        row["torch_max_abs_diff"] = float(np.abs(check.transpose(0, 2, 3, 1) - reference).max())
        del inputs, inputs_last, functions

    n_subset = subsets["ndimage"]
    seconds = report.time(ndimage=lambda: ndimage_conv(images[:n_subset], bank))["ndimage"]
    row["ndimage"] = seconds * n_images / n_subset
    check = ndimage_conv(images[:2], bank)
    row["ndimage_max_abs_diff"] = float(np.abs(check - reference).max())

    n_maps, n_rows = subsets["tutorial"]
    out_rows = size - kernel + 1

    def tutorial_subset():
        for f in range(n_maps):
            tutorial_feature_map(images[0, :, :, 0], bank[f, :, :, 0], n_rows=n_rows)

    seconds = report.time(tutorial=tutorial_subset)["tutorial"]
    row["tutorial"] = seconds * (n_images * n_filters / n_maps) * (out_rows / n_rows)
    check = tutorial_feature_map(images[0, :, :, 0], bank[0, :, :, 0]) * kernel * kernel
    row["tutorial_max_abs_diff"] = float(np.abs(check - reference[0, :, :, 0]).max())
    report.add(**row)
    return images, bank


def pool_case(report, maps, size, stride, target, subsets):
    name = f"max pool {len(maps):,} x 24x24 x 32 maps, {size}/{stride}"
    print(f"\n{name}", flush=True)
    pool = PoolTransformer(size, stride=stride, flatten=False, n_jobs=report.threads)
    pool.fit(maps[:1])
    out_rows = (maps.shape[1] - size) // stride + 1
    out_shape = (len(maps), out_rows, out_rows, maps.shape[3])
    functions = dict(
        skconv=lambda: pool.transform(maps),
        floor=lambda: np.ones(out_shape, dtype=np.float32),
    )
    if torch is not None:
        channels_last = torch.from_numpy(maps).permute(0, 3, 1, 2)  # a view, no copy
        nchw = channels_last.contiguous()
        functions["torch_nchw"] = lambda: torch.nn.functional.max_pool2d(nchw, size, stride)
        functions["torch_channels_last"] = lambda: torch.nn.functional.max_pool2d(
            channels_last, size, stride
        )
    with torch_no_grad():
        seconds = report.time(prefault_bytes=4 * np.prod(out_shape), **functions)
        row = dict(case=name, target=target, **seconds)
    reference = pool.transform(maps[:2])
    if torch is not None:
        row["torch"] = min(row["torch_nchw"], row["torch_channels_last"])
        with torch.no_grad():
            check = torch.nn.functional.max_pool2d(nchw[:2], size, stride).numpy()
        row["torch_max_abs_diff"] = float(np.abs(check.transpose(0, 2, 3, 1) - reference).max())
        del nchw, channels_last, functions
    n_subset = subsets["ndimage"]
    seconds = report.time(ndimage=lambda: ndimage_max_pool(maps[:n_subset], size, stride))
    row["ndimage"] = seconds["ndimage"] * len(maps) / n_subset
    check = ndimage_max_pool(maps[:2], size, stride)
    row["ndimage_max_abs_diff"] = float(np.abs(check - reference).max())

    n_subset = subsets["tutorial_pool"]

    def tutorial_subset():
        for image_maps in maps[:n_subset]:
            for k in range(maps.shape[3]):
                tutorial_pool(image_maps[:, :, k], size, stride)

    seconds = report.time(tutorial=tutorial_subset)["tutorial"]
    row["tutorial"] = seconds * len(maps) / n_subset
    check = tutorial_pool(maps[0, :, :, 0], size, stride)
    row["tutorial_max_abs_diff"] = float(np.abs(check - reference[0, :, :, 0]).max())
    report.add(**row)


def working_set_case(report, images, bank):
    name = "working set of the first case beyond its output"
    print(f"\n{name}", flush=True)
    conv = ConvFeatureExtractor(
        filters=bank, padding="valid", activation=None, n_jobs=report.threads
    ).fit(images)
    peak, maps = traced_peak(lambda: conv.transform(images))
    report.add(
        case=name,
        target="<= 256 MiB",
        output_mib=maps.nbytes / MIB,
        peak_mib=peak / MIB,
        beyond_output_mib=(peak - maps.nbytes) / MIB,
    )


def streamed_case(report, n_images, seed):
    name = f"streamed conv -> pool, {n_images:,} x 28x28, 32 5x5 filters, 2/2 max"
    print(f"\n{name}", flush=True)
    rng = np.random.default_rng(seed)
    X = rng.random((n_images, 28 * 28), dtype=np.float32)
    conv = ConvFeatureExtractor(
        filters="random",
        n_filters=32,
        kernel_size=5,
        image_shape=(28, 28),
        padding="same",
        random_state=0,
        n_jobs=report.threads,
    )
    model = ConvPool(conv, PoolTransformer(2, n_jobs=report.threads))
    peak, features = traced_peak(lambda: model.fit_transform(X))
    output_bytes = features.nbytes
    maps_bytes = n_images * 28 * 28 * 32 * 4
    # The same features unstreamed, on a slice, to check them.
    head = PoolTransformer(2).fit_transform(conv.fit_transform(X[:50]))
    difference = float(np.abs(features[:50] - head).max())
    del features
    seconds = report.time(prefault_bytes=output_bytes, transform=lambda: model.transform(X))
    report.add(
        case=name,
        target="peak <= 1.5 x output + 256 MiB",
        output_mib=output_bytes / MIB,
        peak_mib=peak / MIB,
        limit_mib=1.5 * output_bytes / MIB + 256,
        pipeline_maps_mib=maps_bytes / MIB,
        seconds=seconds["transform"],
        batch_size=int(model.batch_size_),
        max_abs_diff_to_pipeline=difference,
    )


def digits_case(report, blas_thread_counts):
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline

    print("\ndigits: ConvFeatureExtractor, 2x2 max pool, LogisticRegression", flush=True)
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X.astype(np.float32) / 16, y, test_size=0.25, random_state=0
    )
    conv = ConvFeatureExtractor(image_shape=(8, 8), n_jobs=report.threads)
    for label, features in [
        ("Pipeline", [conv, PoolTransformer(2)]),
        ("ConvPool", [ConvPool(conv, PoolTransformer(2))]),
    ]:
        for blas_threads in blas_thread_counts:
            model = make_pipeline(*features, LogisticRegression(max_iter=2000))
            # skconv limits BLAS to one thread itself; this limit is for the classifier.
            with threadpool_limits(blas_threads, user_api="blas"):
                seconds = report.time(
                    fit=lambda model=model: model.fit(X_train, y_train),
                    predict=lambda model=model: model.predict(X_test),
                )
            report.add(
                case=f"digits, {label}, BLAS threads: {blas_threads}",
                target="report",
                **seconds,
                accuracy=float(model.score(X_test, y_test)),
                n_train=len(X_train),
                n_test=len(X_test),
            )


# --------------------------------------------------------------------------- reporting


def machine_info(threads):
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    blas = [
        f"{info['internal_api']} {info['version']} ({info.get('architecture', '?')} kernels)"
        for info in threadpool_info()
        if info["user_api"] == "blas"
    ]
    return dict(
        cpu=cpu,
        cores=os.cpu_count(),
        threads=threads,
        memory_gib=round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        python=platform.python_version(),
        numpy=np.__version__,
        scipy=scipy.__version__,
        sklearn=sklearn.__version__,
        skconv=skconv.__version__,
        torch=None if torch is None else torch.__version__,
        blas=sorted(set(blas)),
        openblas_coretype=os.environ.get("OPENBLAS_CORETYPE"),
        load_average=os.getloadavg(),
    )


def format_seconds(seconds):
    if seconds is None:
        return "n/a"
    if seconds >= 100:
        return f"{seconds:,.0f} s"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    return f"{seconds * 1000:.0f} ms" if seconds >= 0.01 else f"{seconds * 1000:.1f} ms"


def ratio(row, peer):
    return None if row.get(peer) is None else row["skconv"] / row[peer]


def rst_table(header, rows):
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    rule = "  ".join("=" * width for width in widths)
    lines = [rule, "  ".join(f"{h:<{w}}" for h, w in zip(header, widths)).rstrip(), rule]
    lines += ["  ".join(f"{c:<{w}}" for c, w in zip(row, widths)).rstrip() for row in rows]
    return [*lines, rule]


def render(results):
    info = results["machine"]
    speed_rows = []
    for row in results["rows"]:
        if "skconv" not in row:
            continue
        torch_ratio = ratio(row, "torch")
        speed_rows.append(
            [
                row["case"],
                format_seconds(row["skconv"]),
                format_seconds(row.get("torch")),
                "n/a" if torch_ratio is None else f"{torch_ratio:.2f}x",
                row["target"],
                f"{format_seconds(row['ndimage'])} ({ratio(row, 'ndimage'):.3f}x)",
                f"{format_seconds(row['tutorial'])} ({ratio(row, 'tutorial'):.1e}x)",
                format_seconds(row["floor"]),
            ]
        )
    lines = [
        f"Measured {results['date']} on {info['cpu']} ({info['cores']} cores, "
        f"{info['memory_gib']} GiB), {info['threads']} threads for skconv and PyTorch, "
        f"float32; Python {info['python']}, numpy {info['numpy']}, scipy {info['scipy']}, "
        f"scikit-learn {info['sklearn']}, PyTorch {info['torch'] or 'not installed'}, "
        f"BLAS: {', '.join(info['blas'])}; load average at start "
        f"{info['load_average'][0]:.1f}. Medians of {results['repeats']} runs; ratio is skconv's "
        "time / the peer's (in brackets for the loops).",
        "",
        *rst_table(
            [
                "case",
                "skconv",
                "PyTorch",
                "ratio",
                "target",
                "ndimage loop",
                "tutorial loop",
                "floor",
            ],
            speed_rows,
        ),
        "",
    ]
    memory_rows = []
    for row in results["rows"]:
        if "peak_mib" in row:
            limit = row.get("limit_mib")
            measured = (
                f"{row['beyond_output_mib']:.0f} MiB beyond a {row['output_mib']:.0f} MiB output"
                if "beyond_output_mib" in row
                else f"peak {row['peak_mib']:.0f} MiB for a {row['output_mib']:.0f} MiB output "
                f"(limit {limit:.0f} MiB; a Pipeline's maps alone: "
                f"{row['pipeline_maps_mib']:.0f} MiB); transform {format_seconds(row['seconds'])}"
            )
            memory_rows.append([row["case"], measured, row["target"]])
    lines += [*rst_table(["memory (tracemalloc)", "measured", "target"], memory_rows), ""]
    digits_rows = [
        [
            row["case"],
            format_seconds(row["fit"]),
            format_seconds(row["predict"]),
            f"{row['accuracy']:.3f}",
        ]
        for row in results["rows"]
        if "accuracy" in row
    ]
    header = ["end to end (LogisticRegression on 2x2-pooled maps)", "fit", "predict", "accuracy"]
    lines += [*rst_table(header, digits_rows), ""]
    return "\n".join(lines)


def write_docs(table):
    text = DOCS_PAGE.read_text()
    start, end = text.index(TABLE_START), text.index(TABLE_END)
    head = text[: start + len(TABLE_START)]
    DOCS_PAGE.write_text(f"{head}\n\n{table}\n{text[end:]}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small inputs; writes nothing")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    if args.repeats < 5:
        parser.error("--repeats must be at least 5 (the table reports medians)")
    if torch is None:
        print("PyTorch is not installed: its columns are skipped (pip install torch).")
    else:
        torch.set_num_threads(args.threads)
    report = Report(args.repeats, args.threads)
    results = dict(
        date=time.strftime("%Y-%m-%d"), repeats=args.repeats, machine=machine_info(args.threads)
    )
    print(json.dumps(results["machine"], indent=1))

    scale = 20 if args.quick else 1
    images, bank = conv_case(
        report,
        f"conv {10000 // scale:,} x 28x28, 32 random 5x5 filters, valid",
        10000 // scale,
        28,
        32,
        5,
        "<= 0.6x",
        {"ndimage": 1000 // scale, "tutorial": (4, 24) if not args.quick else (1, 4)},
        seed=0,
    )
    working_set_case(report, images, bank)
    del images
    conv_case(
        report,
        f"conv {8 // min(scale, 4)} x {512 // scale * 4 if args.quick else 512}px, "
        "8 random 15x15 filters, valid",
        8 // min(scale, 4),
        512 // 5 if args.quick else 512,
        8,
        15,
        "<= 1.0x",
        {"ndimage": 2 if args.quick else 8, "tutorial": (1, 2 if args.quick else 8)},
        seed=1,
    )
    maps = np.random.default_rng(2).random((10000 // scale, 24, 24, 32), dtype=np.float32)
    for size, stride in [(2, 2), (3, 1)]:
        subsets = {"ndimage": 1000 // scale, "tutorial_pool": 200 // scale}
        pool_case(report, maps, size, stride, "<= 0.8x", subsets)
    del maps
    streamed_case(report, 60000 // scale, seed=3)
    digits_case(report, [1] if args.quick else [1, args.threads])

    results["rows"] = report.rows
    results["raw_times"] = RAW_TIMES
    results["machine"]["load_average_end"] = os.getloadavg()
    table = render(results)
    print("\n" + table)
    for row in report.rows:
        if "skconv" not in row:
            continue
        for peer in ("torch", "ndimage", "tutorial", "floor"):
            if row.get(peer) is not None:
                target = f" (target {row['target']})" if peer == "torch" else ""
                print(f"{row['case']}: skconv / {peer} = {ratio(row, peer):.3g}{target}")
    if not args.quick:
        (HERE / "results.json").write_text(json.dumps(results, indent=1))
        write_docs(table)
        print(f"wrote {HERE / 'results.json'} and the table in {DOCS_PAGE}")


if __name__ == "__main__":
    main()

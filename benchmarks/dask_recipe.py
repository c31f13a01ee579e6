"""The Fashion-MNIST recipe fitted on a dask ``LocalCluster`` against the same fit in memory.

Run ``python benchmarks/dask_recipe.py`` from a source checkout (it needs the ``dask`` extra).
The training set is Fashion-MNIST's first ``--originals`` training images and their one-pixel
shifts (``--copies`` in all, the originals first: up to 5, for the shifts none, up, down,
left, right); the test set is the official 10,000 test images. Each entry runs in a process of
its own:

- ``in_memory``: the shifted images made in numpy, the recipe fitted on them;
- ``cluster``: a ``LocalCluster`` of ``--workers`` worker processes (one thread each, each
  ``--worker-memory`` MiB, no spilling to disk, no pausing: a worker over 95% of its limit
  is restarted, and counted); the images a dask array whose blocks of ``--block`` originals are
  shifted on the workers; the recipe fitted from it, the test set predicted lazily. Each
  worker's peak resident memory during the fit is read from ``/proc/self/status`` (VmHWM,
  reset at the start of the fit);
- ``head``: the recipe's classifier alone, fitted on the cluster's features (saved by the
  ``cluster`` entry, read back block by block by the workers) on clusters of 1, 2 and 4
  workers: how its time scales with the workers.

It prints a table and, last, one JSON line with every figure, and how many test images the two
fits predict differently (``different_predictions``) and how far their coefficients are apart
(``coef_max_abs_difference``, relative to the largest coefficient).

Four workers of 1 GiB by default: a worker's libraries take about 200 MiB, a block of 2,000
originals and its features a few tens, and the classifier's ``m x m`` float64 sums
``8 * m ** 2`` bytes each (8 MB for 1,000 landmarks, 288 MB for the recipe's 6,000, of which a
worker may hold a few). The scaling page's figures were measured with ``--originals 3000
--copies 3 --n-components 1000 --n-filters 32 --max-fit-samples 2000 --block 500``.

On a machine of two cores, as the one the scaling page's figures come from, four worker
processes share two cores: the cluster cannot be faster than in memory there, and the head's
time with 4 workers measures the cost of splitting the work more than any speed-up.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run from a source checkout without installing
    sys.path.insert(0, str(ROOT))

SHIFTS = [(0, 0), (-1, 0), (1, 0), (0, -1), (0, 1)]  # (rows, columns), the originals first
ENTRIES = ("in_memory", "cluster", "head")
SHARED_OPTIONS = (
    "originals",
    "copies",
    "n_components",
    "n_filters",
    "workers",
    "worker_memory",
    "block",
)
HEAD_WORKERS = (1, 2, 4)
# No spilling and no pausing: a worker that would need more than its limit is restarted.
NO_SPILLING = {
    "distributed.worker.memory.target": False,
    "distributed.worker.memory.spill": False,
    "distributed.worker.memory.pause": False,
    "distributed.worker.memory.terminate": 0.95,
}


def peak_rss_mib() -> float:
    """This process's peak resident memory since start (or since the last reset), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise OSError("no VmHWM in /proc/self/status")


def reset_peak_rss() -> None:
    """Restart the count of VmHWM from the current resident memory (Linux 4.0 and later)."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def wrapped_around(shift: int) -> slice:
    """The slice that ``np.roll`` by ``shift`` fills from the other side of an axis."""
    return slice(0, shift) if shift >= 0 else slice(shift, None)


def shifted(images: np.ndarray, rows: int, columns: int) -> np.ndarray:
    """The images moved by whole pixels, the uncovered border filled with background (0)."""
    moved = np.roll(images, (rows, columns), axis=(1, 2))
    moved[:, wrapped_around(rows)] = 0
    moved[:, :, wrapped_around(columns)] = 0
    return moved


def load(args):
    from skconv.datasets import fetch_fashion_mnist

    train = fetch_fashion_mnist(data_home=args.data_home, subset="train")
    test = fetch_fashion_mnist(data_home=args.data_home, subset="test")
    return (
        train.images[: args.originals],
        train.target[: args.originals],
        test.images,
        test.target,
    )


def recipe(args):
    """The Fashion-MNIST recipe's steps and settings, as a pipeline of skconv's estimators."""
    from sklearn.decomposition import PCA
    from sklearn.pipeline import Pipeline, make_pipeline

    from skconv import (
        BatchedTransformer,
        ConvFeatureExtractor,
        ConvPool,
        NystroemRidgeClassifier,
        PoolTransformer,
    )

    conv = ConvFeatureExtractor(
        "kmeans", n_filters=args.n_filters, kernel_size=5, activation="crelu", random_state=0
    )
    features = make_pipeline(ConvPool(conv, PoolTransformer(4)), PCA(256, random_state=0))
    return Pipeline(
        [
            (
                "features",
                BatchedTransformer(
                    features,
                    batch_size=2000,
                    max_fit_samples=args.max_fit_samples,
                    random_state=0,
                    verbose=args.verbose,
                ),
            ),
            (
                "classifier",
                NystroemRidgeClassifier(
                    gamma=6e-6,
                    n_components=args.n_components,
                    alpha=0.003,
                    batch_size=2000,
                    random_state=0,
                    verbose=args.verbose,
                ),
            ),
        ]
    )


def save_model_figures(args, name, model, predicted):
    np.savez(
        Path(args.scratch) / f"{name}.npz",
        coef=model["classifier"].coef_,
        intercept=model["classifier"].intercept_,
        predicted=predicted,
    )


def run_in_memory(args):
    originals, labels, test_images, test_labels = load(args)
    images = np.concatenate([shifted(originals, *shift) for shift in SHIFTS[: args.copies]])
    labels = np.tile(labels, args.copies)
    model = recipe(args)
    start = time.perf_counter()
    model.fit(images, labels)
    fit_seconds = time.perf_counter() - start
    predicted = model.predict(test_images)
    save_model_figures(args, "in_memory", model, predicted)
    return {
        "n_images": len(images),
        "fit_seconds": round(fit_seconds, 1),
        "test_accuracy": round(float(np.mean(predicted == test_labels)), 4),
        "peak_rss_mib": round(peak_rss_mib()),
    }


@contextlib.contextmanager
def cluster_client(args, n_workers):
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set(NO_SPILLING):
        cluster = LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            memory_limit=args.worker_memory * 2**20,
            dashboard_address="127.0.0.1:0",
            silence_logs=logging.ERROR,
            local_directory=args.scratch,
        )
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def measured_fit(client, fit):
    """Run ``fit()``; its seconds, each worker's peak MiB, this process's, and restarts."""
    pids = client.run(os.getpid)
    client.run(reset_peak_rss)
    reset_peak_rss()
    start = time.perf_counter()
    fit()
    seconds = time.perf_counter() - start
    peaks = client.run(peak_rss_mib)
    restarted = len(set(pids.values()) - set(client.run(os.getpid).values()))
    return seconds, peaks, peak_rss_mib(), restarted


def run_cluster(args):
    import dask.array as da

    originals, labels, test_images, test_labels = load(args)
    with cluster_client(args, args.workers) as client:
        lazy = da.from_array(originals, chunks=(args.block, 28, 28))
        images = da.concatenate(
            [lazy.map_blocks(shifted, *shift) for shift in SHIFTS[: args.copies]]
        )
        labels = np.tile(labels, args.copies)
        model = recipe(args)
        seconds, peaks, client_peak, restarted = measured_fit(
            client, lambda: model.fit(images, labels)
        )
        predicted = model.predict(da.from_array(test_images, chunks=(args.block, 28, 28)))
        predicted = predicted.compute()
        save_model_figures(args, "cluster", model, predicted)
        features = model["features"].transform(images)
        da.to_npy_stack(Path(args.scratch) / "features", features, axis=0)
        np.save(Path(args.scratch) / "labels.npy", labels)
    return {
        "n_images": int(images.shape[0]),
        "images_mib_as_float32": round(images.size * 4 / 2**20),
        "workers": args.workers,
        "worker_memory_limit_mib": args.worker_memory,
        "fit_seconds": round(seconds, 1),
        "test_accuracy": round(float(np.mean(predicted == test_labels)), 4),
        "peak_worker_rss_mib": round(max(peaks.values())),
        "peak_client_rss_mib_during_fit": round(client_peak),
        "worker_restarts": restarted,
    }


def run_head(args):
    import dask.array as da

    from skconv import NystroemRidgeClassifier

    features = da.from_npy_stack(Path(args.scratch) / "features")
    labels = np.load(Path(args.scratch) / "labels.npy")
    settings = recipe(args)["classifier"].get_params()
    seconds = {}
    for n_workers in HEAD_WORKERS:
        with cluster_client(args, n_workers) as client:
            head = NystroemRidgeClassifier(**settings)
            fit_seconds, peaks, _, restarted = measured_fit(
                client, lambda head=head: head.fit(features, labels)
            )
            seconds[n_workers] = {
                "fit_seconds": round(fit_seconds, 1),
                "peak_worker_rss_mib": round(max(peaks.values())),
                "worker_restarts": restarted,
            }
    return {"head_by_workers": seconds}


RUNNERS = {"in_memory": run_in_memory, "cluster": run_cluster, "head": run_head}


def spawn(entry: str, args) -> dict:
    """Run one entry in a fresh interpreter; return its JSON line."""
    command = [sys.executable, __file__, "--entry", entry, "--scratch", args.scratch]
    for name in SHARED_OPTIONS:
        command += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
    if args.data_home:
        command += ["--data-home", str(args.data_home)]
    if args.verbose:
        command += ["--verbose", str(args.verbose)]
    print(f"running {entry} ...", file=sys.stderr, flush=True)
    done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare(scratch) -> dict:
    in_memory = np.load(Path(scratch) / "in_memory.npz")
    cluster = np.load(Path(scratch) / "cluster.npz")
    scale = np.abs(in_memory["coef"]).max()
    return {
        "same_predictions": bool(np.array_equal(in_memory["predicted"], cluster["predicted"])),
        "different_predictions": int(np.sum(in_memory["predicted"] != cluster["predicted"])),
        "coef_max_abs_difference": float(
            np.abs(in_memory["coef"] - cluster["coef"]).max() / scale
        ),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--originals", type=int, default=60_000, help="training images used")
    parser.add_argument("--copies", type=int, default=3, choices=range(1, 6), help="shifts")
    parser.add_argument("--n-components", type=int, default=6000, help="the recipe's landmarks")
    parser.add_argument("--n-filters", type=int, default=64, help="the recipe's k-means filters")
    parser.add_argument(
        "--max-fit-samples", type=int, default=10_000, help="images the features are fitted on"
    )
    parser.add_argument("--workers", type=int, default=4, help="worker processes")
    parser.add_argument("--worker-memory", type=int, default=1024, help="MiB per worker")
    parser.add_argument("--block", type=int, default=2000, help="originals per dask block")
    parser.add_argument("--data-home", type=Path, default=None, help="folder of the IDX files")
    parser.add_argument("--verbose", type=int, default=0, help="progress of each entry")
    parser.add_argument("--entry", choices=ENTRIES, help=argparse.SUPPRESS)
    parser.add_argument("--scratch", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.entry:
        # Progress (--verbose) goes to stderr, shown live; stdout carries only the JSON line.
        with contextlib.redirect_stdout(sys.stderr):
            result = RUNNERS[args.entry](args)
        print(json.dumps(result), flush=True)
        return

    with tempfile.TemporaryDirectory(prefix="skconv-dask-recipe-") as scratch:
        args.scratch = scratch
        results = {name: spawn(name, args) for name in ENTRIES}
        results["comparison"] = compare(scratch)
    in_memory, cluster = results["in_memory"], results["cluster"]
    print(
        f"{cluster['n_images']:,} training images ({cluster['images_mib_as_float32']:,} MiB as "
        f"float32), {args.n_components:,} landmarks"
    )
    print(f"{'fit':<34} {'seconds':>8} {'test accuracy':>14} {'peak MiB':>9}")
    print(
        f"{'in memory':<34} {in_memory['fit_seconds']:>8.1f} "
        f"{in_memory['test_accuracy']:>14.4f} {in_memory['peak_rss_mib']:>9}"
    )
    print(
        f"{f'cluster, {args.workers} x {args.worker_memory} MiB':<34} "
        f"{cluster['fit_seconds']:>8.1f} {cluster['test_accuracy']:>14.4f} "
        f"{cluster['peak_worker_rss_mib']:>9} per worker"
    )
    print(
        f"client process during the cluster fit: {cluster['peak_client_rss_mib_during_fit']} "
        f"MiB; worker restarts: {cluster['worker_restarts']}; test predictions that differ: "
        f"{results['comparison']['different_predictions']}; coefficients apart by "
        f"{results['comparison']['coef_max_abs_difference']:.1e} of the largest"
    )
    for n_workers, figures in results["head"]["head_by_workers"].items():
        print(
            f"head alone on {n_workers} worker(s): {figures['fit_seconds']:.1f} s, "
            f"{figures['peak_worker_rss_mib']} MiB per worker at most"
        )
    print(json.dumps(results))


if __name__ == "__main__":
    main()

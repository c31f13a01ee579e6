"""Fashion-MNIST learning curve: the skconv recipe against HOG, pixels and a converged CNN.

Run ``python benchmarks/learning_curve.py`` from a source checkout. For each number of
labelled images (``--sizes``, default 1,000, 2,000, 5,000, 10,000 and 60,000) it draws a
class-balanced subset of Fashion-MNIST's official training set (the same subset for every
method; one subset per seed, ``--seeds``, the second and later seeds only at sizes up to
``--multi-seed-up-to``), fits each method (``--methods``) on it and scores the official test
set once:

- ``recipe``: :func:`skconv.recipes.make_image_classifier` with its defaults (the general
  recipe: nothing set for Fashion-MNIST or for the number of images);
- ``hog``: the recipe's classifier (RBF Nystroem kernel ridge, streamed) on
  :func:`skimage.feature.hog` features;
- ``pixels``: the same classifier on the pixels;
- ``cnn``: the two-conv network of ``benchmarks/fashion_mnist.py`` (optional: only where
  PyTorch is importable) trained to convergence with the usual 2-pixel shift augmentation:
  early stopping on a class-balanced tenth of the labelled images (the rest train it), the
  weights of the best validation epoch kept;
- ``cnn_plain`` (not run unless named in ``--methods``): the same without the shifts.

Nothing here looks at the test set before scoring it. Each fit runs in a process of its own,
so its ``seconds`` (data read to test set scored) and ``peak_rss_mib`` (the process's peak
resident memory) are its alone. The CNNs are skipped above ``--cnn-up-to`` labelled images
(default 10,000: at 60,000 an epoch takes about a minute on 2 cores and convergence tens of
epochs), and the run says so.

The script prints each result as it comes, then a table and the goals met or missed. After
each fit it writes every result so far to ``benchmarks/learning_curve.json``, the tables
between the markers of ``docs/user_guide/learning_curve.rst`` and the plot
``docs/_static/learning_curve.png``, so an interrupted run keeps what it measured.
``--update`` keeps the results already recorded and replaces only the entries (size,
method, seed) this run measures, so a slow peer can be run later, on a quieter machine,
without running the rest again; the page lists every run that contributed. ``--quick`` is a
smoke run (300 images, 500 test images, two CNN epochs) that writes nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from peers import (
    CNN,
    hog_features,
    kernel_ridge_head,
    peak_rss_mib,
    pixel_features,
    run_in_new_process,
    torch_available,
)

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "learning_curve.json"
DOCS_PAGE = HERE.parent / "docs" / "user_guide" / "learning_curve.rst"
PLOT = HERE.parent / "docs" / "_static" / "learning_curve.png"
TABLE_START = ".. learning-curve-table-start"
TABLE_END = ".. learning-curve-table-end"

SIZES = (1_000, 2_000, 5_000, 10_000, 60_000)
METHODS = {
    "recipe": "skconv recipe",
    "hog": "HOG + same head",
    "pixels": "pixels + same head",
    "cnn": "CNN + 2-px shifts",
    "cnn_plain": "CNN, no shifts",
}
CNN_METHODS = ("cnn", "cnn_plain")
DEFAULT_METHODS = ("recipe", "hog", "pixels", "cnn")
# Issue 15's goals: at 1,000 labels (mean over the seeds) and with all 60,000.
GOALS = {1_000: 0.88, 60_000: 0.935}

# Early stopping: a tenth of the labelled images is the CNN's validation part, scored after
# every epoch; training stops when the validation accuracy has not improved for
# CNN_PATIENCE_EPOCHS epochs and CNN_PATIENCE_IMAGES images drawn (on 900 training images
# ten epochs are only 80 steps of Adam, too few to call a plateau), or at CNN_MAX_EPOCHS.
# Ties go to the later epoch: on a plateau the longer-trained weights are kept.
CNN_VALIDATION_FRACTION = 0.1
CNN_PATIENCE_EPOCHS = 10
CNN_PATIENCE_IMAGES = 30_000
CNN_MAX_EPOCHS = 300
QUICK = {"size": 300, "n_test": 500, "cnn_max_epochs": 2}


def balanced_subset(target: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Indices of ``size`` rows, as equal a number per class as possible, drawn with ``seed``.

    The indices are sorted, so the subset keeps the training set's order.
    """
    classes = np.unique(target)
    per_class = np.full(len(classes), size // len(classes))
    per_class[: size % len(classes)] += 1
    rng = np.random.default_rng(seed)
    chosen = []
    for label, count in zip(classes, per_class):
        rows = np.flatnonzero(target == label)
        if count > len(rows):
            raise ValueError(
                f"--sizes: {size} asks {count} images of class {label}, which has {len(rows)}"
            )
        chosen.append(rng.choice(rows, size=count, replace=False))
    return np.sort(np.concatenate(chosen))


def load_data(args):
    """(train images, train labels, test images, test labels) for this entry's subset."""
    from skconv.datasets import fetch_fashion_mnist

    train = fetch_fashion_mnist(data_home=args.data_home, subset="train")
    test = fetch_fashion_mnist(data_home=args.data_home, subset="test")
    rows = balanced_subset(train.target, args.size, args.seed)
    n_test = QUICK["n_test"] if args.quick else len(test.target)
    return train.images[rows], train.target[rows], test.images[:n_test], test.target[:n_test]


def run_recipe(args):
    from skconv.recipes import make_image_classifier

    X_train, y_train, X_test, y_test = load_data(args)
    model = make_image_classifier(n_jobs=-1, random_state=args.seed).fit(X_train, y_train)
    return float(model.score(X_test, y_test)), {
        "landmarks": int(model.classifier_.n_components),
        "gamma": float(model.gamma_),
        "pool_grid": int(model.pool_grid_),
    }


def run_kernel_peer(args, features):
    """The recipe's classifier, with the recipe's landmarks and alpha, on other features."""
    from skconv.recipes import make_image_classifier

    X_train, y_train, X_test, y_test = load_data(args)
    F_train, F_test = features(X_train), features(X_test)
    model = kernel_ridge_head(F_train, make_image_classifier(), random_state=args.seed)
    model.fit(F_train, y_train)
    return float(model.score(F_test, y_test)), {"landmarks": int(model.n_components)}


def run_cnn(args, shift: bool):
    """Train to convergence: early stopping on a class-balanced tenth of the labelled images."""
    import torch
    from sklearn.model_selection import train_test_split

    started = time.perf_counter()
    X_train, y_train, X_test, y_test = load_data(args)
    X_fit, X_valid, y_fit, y_valid = train_test_split(
        X_train,
        y_train,
        test_size=CNN_VALIDATION_FRACTION,
        stratify=y_train,
        random_state=args.seed,
    )
    cnn = CNN(shift=shift, seed=args.seed)
    X_fit, X_valid, X_test = cnn.tensor(X_fit), cnn.tensor(X_valid), cnn.tensor(X_test)
    y_fit = torch.from_numpy(y_fit.astype(np.int64))
    max_epochs = QUICK["cnn_max_epochs"] if args.quick else CNN_MAX_EPOCHS
    patience = max(CNN_PATIENCE_EPOCHS, -(-CNN_PATIENCE_IMAGES // len(X_fit)))
    best_accuracy, best_epoch, best_state = -1.0, 0, None
    for epoch in range(1, max_epochs + 1):
        cnn.train_epoch(X_fit, y_fit)
        accuracy = float((cnn.predict(X_valid) == y_valid).mean())
        if accuracy >= best_accuracy:
            best_accuracy, best_epoch = accuracy, epoch
            best_state = copy.deepcopy(cnn.model.state_dict())
        elif epoch - best_epoch >= patience:
            break
        if args.verbose:
            print(
                f"epoch {epoch}: validation {accuracy:.4f} (best {best_accuracy:.4f} at "
                f"{best_epoch}), {time.perf_counter() - started:.0f} s"
            )
    cnn.model.load_state_dict(best_state)
    return float((cnn.predict(X_test) == y_test).mean()), {
        "epochs": epoch,
        "patience_epochs": patience,
        "best_epoch": best_epoch,
        "validation_accuracy": round(best_accuracy, 4),
    }


RUNNERS = {
    "recipe": run_recipe,
    "hog": lambda args: run_kernel_peer(args, hog_features),
    "pixels": lambda args: run_kernel_peer(args, pixel_features),
    "cnn": lambda args: run_cnn(args, shift=True),
    "cnn_plain": lambda args: run_cnn(args, shift=False),
}


def run_entry(args) -> None:
    """Fit one method on one subset in this process; print its figures as a JSON line."""
    start = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):  # stdout carries only the JSON line
        accuracy, extra = RUNNERS[args.entry](args)
    result = {
        "test_accuracy": round(accuracy, 4),
        "seconds": round(time.perf_counter() - start, 1),
        "peak_rss_mib": round(peak_rss_mib()),
        **extra,
    }
    print(json.dumps(result), flush=True)


def machine_info() -> dict:
    import scipy
    import skimage
    import sklearn
    from threadpoolctl import threadpool_info

    import skconv

    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_gib = None
    with contextlib.suppress(OSError, ValueError):
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory_gib = round(pages / 2**30, 1)
    torch_version = None
    if torch_available():
        import torch

        torch_version = torch.__version__.split("+")[0]
    blas = sorted(
        {f"{pool['internal_api']} {pool['version']}" for pool in threadpool_info()}
        - {"openmp None"}
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": memory_gib,
        "python": platform.python_version(),
        "skconv": skconv.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "sklearn": sklearn.__version__,
        "skimage": skimage.__version__,
        "torch": torch_version,
        "blas": blas,
    }


# ----------------------------------------------------------------------------- the report


def rst_table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows)]
    rule = "  ".join("=" * width for width in widths)
    lines = [rule, "  ".join(f"{h:<{w}}" for h, w in zip(header, widths)).rstrip(), rule]
    lines += ["  ".join(f"{c:<{w}}" for c, w in zip(row, widths)).rstrip() for row in rows]
    return [*lines, rule]


def grouped(results: dict) -> dict:
    """{(size, method): [entries, in seed order]}."""
    groups: dict = {}
    for entry in results["entries"]:
        groups.setdefault((entry["size"], entry["method"]), []).append(entry)
    return groups


def mean_accuracy(entries: list[dict]) -> float:
    return float(np.mean([entry["test_accuracy"] for entry in entries]))


def goal_lines(results: dict) -> list[str]:
    """The goals, each met, missed or not measured, as sentences."""
    groups = grouped(results)
    sizes = sorted({size for size, _ in groups})
    lines = []
    for size, goal in GOALS.items():
        entries = groups.get((size, "recipe"))
        if entries is None:
            lines.append(f"recipe >= {goal} at {size:,} labels: not measured in this run.")
            continue
        reached = mean_accuracy(entries)
        verdict = "met" if reached >= goal else "missed"
        seeds = f"mean of {len(entries)} seeds" if len(entries) > 1 else "one seed"
        lines.append(f"recipe >= {goal} at {size:,} labels ({seeds}): {verdict} ({reached:.4f}).")
    for peer in ("hog", *CNN_METHODS):
        compared = [
            size for size in sizes if (size, peer) in groups and (size, "recipe") in groups
        ]
        if not compared:
            continue
        behind = [
            size
            for size in compared
            if mean_accuracy(groups[size, "recipe"]) <= mean_accuracy(groups[size, peer])
        ]
        where = ", ".join(f"{size:,}" for size in compared)
        verdict = "met" if not behind else "missed at " + ", ".join(f"{s:,}" for s in behind)
        lines.append(f"recipe ahead of {METHODS[peer]} at every size ({where}): {verdict}.")
    return lines


def render(results: dict) -> str:
    """The reStructuredText between the page's markers."""
    info, groups = results["machine"], grouped(results)
    methods = [m for m in METHODS if any(method == m for _, method in groups)]
    sizes = sorted({size for size, _ in groups})
    accuracy_rows, cost_rows = [], []
    for size in sizes:
        accuracy_row, cost_row = [f"{size:,}"], [f"{size:,}"]
        for method in methods:
            entries = groups.get((size, method))
            if entries is None:
                accuracy_row.append("not run")
                cost_row.append("not run")
                continue
            cell = f"{mean_accuracy(entries):.4f}"
            if len(entries) > 1:
                cell += " (" + " / ".join(f"{e['test_accuracy']:.3f}" for e in entries) + ")"
            accuracy_row.append(cell)
            seconds = np.mean([entry["seconds"] for entry in entries])
            memory = max(entry["peak_rss_mib"] for entry in entries)
            cost_row.append(f"{seconds:,.0f} s, {memory:,} MiB")
        accuracy_rows.append(accuracy_row)
        cost_rows.append(cost_row)
    header = ["labelled images", *(METHODS[m] for m in methods)]
    load = results["load_average_start"]
    updates = [
        f" Updated {run['started']} to {run['finished']} by ``python "
        f"benchmarks/learning_curve.py {run['arguments']}`` (load average at the start "
        f"{run['load_average_start'][0]:.1f}, at the end {run['load_average_end'][0]:.1f})."
        for run in results.get("updates", [])
    ]
    lines = [
        f"Measured {results['started']} to {results['finished']} with "
        f"``python benchmarks/learning_curve.py {results['arguments']}`` on "
        f"{info['cpu']} ({info['cores']} cores, {info['memory_gib']} GiB); Python "
        f"{info['python']}, skconv {info['skconv']}, numpy {info['numpy']}, scipy "
        f"{info['scipy']}, scikit-learn {info['sklearn']}, scikit-image {info['skimage']}, "
        f"PyTorch {info['torch'] or 'not installed'}; BLAS: {', '.join(info['blas'])}. "
        f"Load average (1, 5, 15 min) at the start {load[0]:.1f}, {load[1]:.1f}, "
        f"{load[2]:.1f}; at the end {results['load_average_end'][0]:.1f}." + "".join(updates),
        "",
        f"Test accuracy (official test set, {results['n_test']:,} images; the mean over the "
        "seeds, each seed's figure in brackets):",
        "",
        *rst_table(header, accuracy_rows),
        "",
        "Seconds (data read to test set scored; mean over the seeds) and peak resident "
        "memory (the largest over the seeds):",
        "",
        *rst_table(header, cost_rows),
        "",
    ]
    if results["skipped"]:
        lines += ["Not run, or failed:", ""]
        lines += [f"- {reason}" for reason in results["skipped"]]
        lines.append("")
    lines += ["Goals:", ""]
    lines += [f"- {line}" for line in goal_lines(results)]
    return "\n".join(lines) + "\n"


def plot(results: dict, path: Path) -> None:
    """Accuracy and seconds against labelled images, one line per method (seeds as dots)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = grouped(results)
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6), layout="constrained")
    for method, label in METHODS.items():
        sizes = sorted(size for size, m in groups if m == method)
        if not sizes:
            continue
        means = [mean_accuracy(groups[size, method]) for size in sizes]
        (line,) = left.plot(sizes, means, marker="o", label=label)
        for size in sizes:
            seeds = [entry["test_accuracy"] for entry in groups[size, method]]
            if len(seeds) > 1:
                left.scatter([size] * len(seeds), seeds, s=8, color=line.get_color(), alpha=0.5)
        seconds = [np.mean([e["seconds"] for e in groups[size, method]]) for size in sizes]
        right.plot(sizes, seconds, marker="o", color=line.get_color(), label=label)
    for size, goal in GOALS.items():
        left.scatter([size], [goal], marker="*", s=90, color="black", zorder=3)
    left.scatter([], [], marker="*", s=90, color="black", label="goal (recipe)")
    left.set(xscale="log", xlabel="labelled images", ylabel="test accuracy")
    left.set_title("Fashion-MNIST test accuracy", fontsize="medium")
    left.grid(alpha=0.3)
    left.legend(fontsize="small")
    right.set(xscale="log", yscale="log", xlabel="labelled images", ylabel="seconds")
    right.set_title("time to fit and score (one process each)", fontsize="medium")
    right.grid(alpha=0.3, which="both")
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write_outputs(results: dict) -> None:
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    text = DOCS_PAGE.read_text()
    start, end = text.index(TABLE_START), text.index(TABLE_END)
    DOCS_PAGE.write_text(f"{text[: start + len(TABLE_START)]}\n\n{render(results)}\n{text[end:]}")
    plot(results, PLOT)


# ----------------------------------------------------------------------------- the run


def spawn(method: str, size: int, seed: int, args) -> dict:
    arguments = ["--entry", method, "--size", str(size), "--seed", str(seed)]
    if args.data_home:
        arguments += ["--data-home", str(args.data_home)]
    if args.quick:
        arguments.append("--quick")
    if args.verbose:
        arguments.append("--verbose")
    return run_in_new_process(__file__, arguments)


def comma_separated(kind):
    def parse(text: str) -> list:
        return [kind(item) for item in text.split(",") if item]

    return parse


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=comma_separated(int), default=list(SIZES), help="labelled images"
    )
    parser.add_argument("--seeds", type=comma_separated(int), default=[0, 1])
    parser.add_argument(
        "--multi-seed-up-to",
        type=int,
        default=5_000,
        help="sizes above this run the first seed only",
    )
    parser.add_argument(
        "--methods",
        type=comma_separated(str),
        default=list(DEFAULT_METHODS),
        help=f"among {', '.join(METHODS)}; default {','.join(DEFAULT_METHODS)}",
    )
    parser.add_argument(
        "--cnn-up-to", type=int, default=10_000, help="the CNNs are skipped above this size"
    )
    parser.add_argument(
        "--update",
        action="store_true",
        help="keep the recorded results; replace only the entries this run measures",
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run that writes nothing")
    parser.add_argument("--data-home", type=Path, default=None, help="folder of the IDX files")
    parser.add_argument("--verbose", action="store_true", help="the CNN's epochs, on stderr")
    parser.add_argument("--entry", choices=list(METHODS), help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.entry:
        run_entry(args)
        return
    unknown = sorted(set(args.methods) - set(METHODS))
    if unknown:
        parser.error(f"--methods: unknown {unknown}; choose among {', '.join(METHODS)}")
    if args.quick:
        args.sizes, args.seeds = [QUICK["size"]], args.seeds[:1]

    run = {
        "arguments": " ".join(sys.argv[1:] if argv is None else argv),
        "started": time.strftime("%Y-%m-%d %H:%M"),
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
    }
    updating = args.update and not args.quick
    if updating:
        results = json.loads(RESULTS.read_text())
        results.setdefault("updates", []).append(run)
        # The entries and reasons this run is about to measure again are dropped first.
        planned = {(size, method) for size in args.sizes for method in args.methods}
        results["skipped"] = [
            reason
            for reason in results["skipped"]
            if not any(METHODS[m] in reason and f"at {s:,}" in reason for s, m in planned)
        ]
    else:
        results = {**run, "entries": [], "skipped": []}
    results.update(
        {
            "n_test": QUICK["n_test"] if args.quick else 10_000,
            "machine": machine_info(),
            "settings": {
                "cnn_validation_fraction": CNN_VALIDATION_FRACTION,
                "cnn_patience_epochs": CNN_PATIENCE_EPOCHS,
                "cnn_patience_images": CNN_PATIENCE_IMAGES,
                "cnn_max_epochs": CNN_MAX_EPOCHS,
            },
        }
    )
    stamp = run if updating else results
    has_torch = torch_available()
    # Method by method, the CNN last: if the run is cut short, what is missing is the slowest
    # peer's largest sizes, not the recipe's.
    for method in (m for m in METHODS if m in args.methods):
        for size in sorted(args.sizes):
            if method in CNN_METHODS and not has_torch:
                reason = f"{METHODS[method]} at {size:,}: PyTorch is not installed"
            elif method in CNN_METHODS and size > args.cnn_up_to:
                reason = (
                    f"{METHODS[method]} at {size:,}: skipped (above --cnn-up-to "
                    f"{args.cnn_up_to:,}; convergence would take tens of one-minute epochs)"
                )
            else:
                reason = None
            if reason:
                print(reason, flush=True)
                results["skipped"].append(reason)
                continue
            for seed in args.seeds if size <= args.multi_seed_up_to else args.seeds[:1]:
                load = os.getloadavg()[0]
                try:
                    figures = spawn(method, size, seed, args)
                except subprocess.CalledProcessError as error:
                    # One failed fit is reported, not allowed to lose the rest of the run.
                    reason = f"{METHODS[method]} at {size:,}, seed {seed}: failed ({error})"
                    print(reason, flush=True)
                    results["skipped"].append(reason)
                    continue
                entry = {"size": size, "method": method, "seed": seed, **figures}
                entry["load_average_at_start"] = round(load, 2)
                results["entries"] = [
                    e
                    for e in results["entries"]
                    if (e["size"], e["method"], e["seed"]) != (size, method, seed)
                ] + [entry]
                print(json.dumps(entry), flush=True)
                stamp["finished"] = time.strftime("%Y-%m-%d %H:%M")
                stamp["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
                if not args.quick:
                    write_outputs(results)
    stamp["finished"] = time.strftime("%Y-%m-%d %H:%M")
    stamp["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    print("\n" + render(results))
    if not args.quick:
        write_outputs(results)
        print(f"wrote {RESULTS}, the tables in {DOCS_PAGE} and {PLOT}")


if __name__ == "__main__":
    main()

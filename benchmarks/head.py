"""NystroemRidgeClassifier's fit against its floor: one float32 Gram product of its kernel map.

Run from the repository root::

    python benchmarks/head.py [--old PATH] [--n-samples 20000] [--n-components 4000]

Data: PCA-256 of Fashion-MNIST's training pixels (scaled to [0, 1]), the first ``n_samples``
images, float32; random rows of the same shape when the data set is not installed. ``gamma``
is the new ``"scale"`` value, passed as a number to both implementations. The floor is
``K.T @ K`` of the float32 ``n_samples x n_components`` kernel map (numpy calls ``syrk``).
``--old PATH`` loads another implementation of the class from a file (e.g. the one on main:
``git show main:skconv/_kernel_head.py > /tmp/old_head.py``) and times it in the same run.
Peak memory is Python's traced allocations (numpy arrays, LAPACK workspaces that scipy
allocates) during ``fit``.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA

from skconv._kernel_head import NystroemRidgeClassifier, _KernelMap


def load_data(n_samples: int, seed: int = 0):
    try:
        from skconv.datasets import fetch_fashion_mnist

        bunch = fetch_fashion_mnist(subset="train", download_if_missing=False)
        pixels = bunch.data[:n_samples].astype(np.float32) / 255
        y = bunch.target[:n_samples]
        X = PCA(256, random_state=seed).fit_transform(pixels).astype(np.float32)
        return X, y, "PCA-256 of Fashion-MNIST pixels"
    except Exception as exc:  # no data set: rows of the same shape
        rng = np.random.RandomState(seed)
        X = rng.randn(n_samples, 256).astype(np.float32) * np.linspace(
            3, 0.1, 256, dtype=np.float32
        )
        y = (X[:, 0] > 0).astype(int) + 2 * (X[:, 1] > 0)
        return X, y, f"random rows ({exc.__class__.__name__}: Fashion-MNIST not found)"


def load_class(path: str):
    source = Path(path).read_text().replace("from ._", "from skconv._")
    module_path = Path("/tmp") / "skconv_head_under_test.py"
    module_path.write_text(source)
    spec = importlib.util.spec_from_file_location("skconv_head_under_test", module_path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.NystroemRidgeClassifier


def timed_fit(cls, X, y, **params):
    tracemalloc.start()
    start = time.perf_counter()
    model = cls(**params).fit(X, y)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return model, seconds, peak


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", help="a file holding another NystroemRidgeClassifier")
    parser.add_argument("--n-samples", type=int, default=20_000)
    parser.add_argument("--n-components", type=int, default=4_000)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args(argv)
    X, y, what = load_data(args.n_samples)
    print(f"data: {what}, X {X.shape} {X.dtype}")
    scale = NystroemRidgeClassifier(gamma="scale", n_components=10, random_state=0).fit(X, y)
    params = dict(
        gamma=scale.gamma_,
        n_components=args.n_components,
        alpha=3e-3,
        batch_size=1024,
        random_state=0,
    )
    print(f"gamma = {scale.gamma_:.4g} ('scale'), n_components={args.n_components}")
    implementations = {"new": NystroemRidgeClassifier}
    if args.old:
        implementations = {"old": load_class(args.old), **implementations}
    for repeat in range(args.repeats):
        models = {}
        for name, cls in implementations.items():
            model, seconds, peak = timed_fit(cls, X, y, **params)
            # the floor, measured next to each fit: the load of a shared machine varies
            kernel = _KernelMap.of(model.components_, params["gamma"]).rows(X)
            start = time.perf_counter()
            kernel.T @ kernel
            gram = time.perf_counter() - start
            del kernel
            models[name] = model
            print(
                f"[{repeat}] {name}: fit {seconds:.2f} s, Gram product {gram:.2f} s, "
                f"ratio {seconds / gram:.2f}, peak {peak / 2**20:.0f} MiB",
                flush=True,
            )
        if "old" in models:
            old, new = models["old"].decision_function(X), models["new"].decision_function(X)
            flipped = (models["old"].predict(X) != models["new"].predict(X)).sum()
            print(
                f"max |decision new - old| on the training rows: {np.abs(new - old).max():.3g}; "
                f"predictions differ on {flipped} of {len(X)} rows"
            )


if __name__ == "__main__":
    main()

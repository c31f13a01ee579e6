"""The main job: ``python -m skconv`` fits a conv + pool pipeline on sklearn's digits."""

from __future__ import annotations

import argparse
import sys
import time

from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from . import ConvFeatureExtractor, PoolTransformer, __version__
from ._conv import PRESETS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m skconv",
        description=(
            "Fit a ConvFeatureExtractor + PoolTransformer + classifier pipeline on the digits "
            "bundled with scikit-learn (first half to train, second half to test) and compare "
            "it with an SVC on raw pixels."
        ),
    )
    parser.add_argument("--filters", choices=PRESETS, default="seed", help="filter bank preset")
    parser.add_argument("--pool-mode", choices=("max", "avg"), default="max")
    parser.add_argument("--pool-size", type=int, default=2)
    parser.add_argument("--classifier", choices=("logreg", "svc"), default="logreg")
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--version", action="version", version=f"skconv {__version__}")
    return parser


def make_classifier(name: str, random_state: int):
    if name == "svc":
        return SVC(gamma="scale")
    return LogisticRegression(max_iter=2000, random_state=random_state)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    started = time.perf_counter()
    digits = load_digits()
    half = len(digits.data) // 2
    X_train, X_test = digits.data[:half], digits.data[half:]
    y_train, y_test = digits.target[:half], digits.target[half:]
    print(f"digits: {half} training and {len(X_test)} test images of 8x8 pixels", flush=True)

    print("fitting the raw-pixel baseline (SVC) ...", flush=True)
    baseline = SVC(gamma=0.001).fit(X_train, y_train)
    baseline_accuracy = baseline.score(X_test, y_test)

    print(
        f"fitting conv(filters={args.filters!r}) + pool({args.pool_mode}, "
        f"{args.pool_size}) + {args.classifier} ...",
        flush=True,
    )
    pipeline = make_pipeline(
        ConvFeatureExtractor(
            filters=args.filters, image_shape=(8, 8), random_state=args.random_state
        ),
        PoolTransformer(pool_size=args.pool_size, mode=args.pool_mode),
        StandardScaler(),
        make_classifier(args.classifier, args.random_state),
    )
    pipeline.fit(X_train, y_train)
    accuracy = pipeline.score(X_test, y_test)
    elapsed = time.perf_counter() - started

    print(f"raw-pixel SVC test accuracy:  {baseline_accuracy:.4f}")
    print(f"skconv pipeline test accuracy: {accuracy:.4f}")
    print(f"time taken: {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

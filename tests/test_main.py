"""The main job, ``python -m skconv``: run through main() with arguments, as a user would."""

import os
import re
import subprocess
import sys

import numpy as np
import pytest
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC

from skconv import __version__
from skconv.__main__ import build_parser, main, make_pipeline
from skconv.filters._presets import PRESETS


def accuracies(output: str) -> tuple[float, float]:
    baseline = re.search(r"^raw-pixel SVC test accuracy:\s+([01]\.\d{4})$", output, re.M)
    skconv = re.search(r"^skconv pipeline test accuracy:\s+([01]\.\d{4})$", output, re.M)
    assert baseline and skconv, output
    return float(baseline.group(1)), float(skconv.group(1))


def test_default_run_beats_the_raw_pixel_baseline_and_writes_the_filters_png(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from matplotlib.image import imread

    png = tmp_path / "filters.png"
    assert main(["--plot-filters", str(png)]) == 0
    output = capsys.readouterr().out

    for progress in ("[1/3] raw-pixel baseline", "[2/3] skconv pipeline", "[3/3] scoring"):
        assert progress in output
    assert "conv(gabor 5x5, activation=abs) + pool(avg 2x2, stride 1)" in output
    assert re.search(r"^time taken: \d+\.\d s$", output, re.M)
    baseline, accuracy = accuracies(output)
    # scikit-learn's digits example reports 0.9689 for this SVC on this split.
    assert baseline == pytest.approx(0.9689, abs=1e-4)
    assert accuracy >= 0.985

    assert f"wrote the filter bank to {png}" in output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    picture = imread(png)
    assert picture.ndim == 3 and picture.shape[0] > 50 and picture.shape[1] > 400
    assert picture[..., :3].std() > 0  # not a blank canvas


def test_options_reach_the_pipeline(capsys):
    argv = ["--filters", "tutorial", "--activation", "relu", "--pool-mode", "max"]
    argv += ["--pool-stride", "2", "--classifier", "logreg", "-C", "1"]
    assert main(argv) == 0
    output = capsys.readouterr().out
    assert (
        "conv(tutorial, activation=relu) + pool(max 2x2, stride 2) + StandardScaler + "
        "LogisticRegression(C=1)"
    ) in output
    _, accuracy = accuracies(output)
    assert 0.5 < accuracy < 1.0


def test_grid_search_reports_its_choice_and_scores_it(capsys):
    assert main(["--grid-search", "--cv", "2", "--n-jobs", "1"]) == 0
    output = capsys.readouterr().out
    assert "6 banks x 4 poolings, 2-fold cross-validation (48 fits" in output
    best = re.search(r"best: conv\((\w+).*cross-validated accuracy ([01]\.\d{4})", output)
    assert best, output
    assert best.group(1) in PRESETS
    assert 0.5 < float(best.group(2)) <= 1.0
    accuracies(output)


def test_help_lists_the_options(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--filters", "--pool-mode", "--pool-size", "--classifier", "--plot-filters"):
        assert option in text
    assert "gabor" in text and "kmeans" in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--filters", "tutorial", "--kernel-size", "5"], "--kernel-size does not apply"),
        (["--filters", "tutorial", "--n-filters", "4"], "--n-filters does not apply"),
        (["--filters", "seed", "--n-filters", "4"], "--n-filters does not apply"),
        (["--filters", "nope"], "invalid choice"),
    ],
)
def test_bad_options_exit_with_a_usage_error(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("name", list(PRESETS))
def test_size_options_are_taken_exactly_by_the_presets_the_table_says(name, capsys):
    preset = PRESETS[name]
    for option, value, takes in (
        ("--n-filters", "6", preset.takes_n_filters),
        ("--kernel-size", "5", preset.takes_kernel_size),
    ):
        argv = ["--filters", name, option, value]
        if takes:
            conv = make_pipeline(build_parser().parse_args(argv))["conv"]
            assert conv.get_params()[option[2:].replace("-", "_")] == int(value)
        else:
            with pytest.raises(SystemExit):
                main(argv)
            assert f"{option} does not apply to the {name} preset" in capsys.readouterr().err


def test_edges_takes_n_filters_as_the_estimator_does():
    # Refused before 0.2, though ConvFeatureExtractor(filters="edges", n_filters=6) worked.
    args = build_parser().parse_args(["--filters", "edges", "--n-filters", "6"])
    conv = make_pipeline(args)["conv"].fit(np.random.RandomState(0).rand(3, 64))
    assert conv.filters_.shape == (6, 5, 5)  # the command line's 5x5 default: Farid


def test_python_dash_m_runs_the_main_job():
    result = subprocess.run(
        [sys.executable, "-m", "skconv", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == f"skconv {__version__}"


def test_fashion_mnist_without_the_data_says_how_to_get_it(monkeypatch, capsys):
    from skconv import __main__ as cli
    from skconv import datasets

    def no_data(**kwargs):
        raise FileNotFoundError("Fashion-MNIST was not found: apt-get install ...")

    monkeypatch.setattr(datasets, "fetch_fashion_mnist", no_data)
    assert cli.main(["--dataset", "fashion-mnist"]) == 1
    assert "apt-get install" in capsys.readouterr().err


# --- bad values end in a usage error before any work -------------------------------------------

BAD_VALUES = [
    (["--pool-size", "20"], "argument --pool-size: a 20x20 window does not fit the 8x8 maps"),
    (["--pool-size", "9", "--kernel-size", "3"], "use --pool-size 8 or less"),
    (["--pool-size", "0"], "argument --pool-size: must be at least 1; got 0"),
    (["--pool-stride", "0"], "argument --pool-stride: must be at least 1; got 0"),
    (["--cv", "1"], "argument --cv: must be at least 2"),
    (["--grid-search", "--cv", "200"], "argument --cv: 200 folds need at least 200 images"),
    (["--n-filters", "0"], "argument --n-filters: must be at least 1; got 0"),
    (["--n-filters", "two"], "argument --n-filters: must be an int; got 'two'"),
    (["--kernel-size", "0"], "argument --kernel-size: must be at least 1; got 0"),
    (["--kernel-size", "9"], "argument --kernel-size: 9 is larger than the 8x8 digits"),
    (["--kernel-size", "1"], "--filters gabor --kernel-size 1: gabor_bank needs at least 2"),
    (["--filters", "edges", "--kernel-size", "7"], "--filters edges --kernel-size 7: edge_bank"),
    (
        ["--filters", "pca", "--kernel-size", "3", "--n-filters", "9"],
        "--filters pca --kernel-size 3 --n-filters 9: n_filters=9 exceeds the 8",
    ),
    (["-C", "0"], "argument -C: must be a positive finite number; got 0"),
    (["-C", "nan"], "argument -C: must be a positive finite number; got nan"),
    (["--n-jobs", "0"], "argument --n-jobs: must be a positive int, or -1 for all cores"),
    (["--random-state", "-1"], "argument --random-state: must be from 0 to 2**32 - 1"),
    (["--plot-filters", "no/such/folder/f.png"], "the folder 'no/such/folder' does not exist"),
    (["--plot-filters", "."], "argument --plot-filters: . is a folder"),
    (["--plot-filters", "filters.xyz"], "matplotlib cannot write .xyz files"),
]


@pytest.mark.parametrize(("argv", "message"), BAD_VALUES, ids=lambda v: " ".join(v)[:40])
def test_bad_values_are_usage_errors_before_any_work(argv, message, capsys, monkeypatch):
    if "--plot-filters" in argv:
        pytest.importorskip("matplotlib")

    def no_work(*args, **kwargs):
        raise AssertionError("the job started before the options were checked")

    # Any fit would be work done before the error: make it fail loudly instead.
    monkeypatch.setattr(Pipeline, "fit", no_work)
    monkeypatch.setattr(SVC, "fit", no_work)
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err
    assert captured.err.splitlines()[-1].startswith(f"{build_parser().prog}: error: ")


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root may write anywhere"
)
def test_plot_filters_in_a_read_only_folder_is_refused_before_the_job(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(SystemExit) as exit_info:
            main(["--plot-filters", str(tmp_path / "f.png")])
    finally:
        tmp_path.chmod(0o700)
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "argument --plot-filters" in captured.err and "is not writable" in captured.err


def test_the_largest_pool_window_that_fits_is_accepted():
    args = build_parser().parse_args(["--pool-size", "8"])
    assert make_pipeline(args)["pool"].pool_size == 8
    with pytest.raises(SystemExit):
        main(["--pool-size", "9"])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--pool-size", "0"], "argument --pool-size: must be at least 1"),
        (["--cv", "1"], "argument --cv: must be at least 2"),
        (["-C", "-1"], "argument -C: must be a positive finite number"),
    ],
)
def test_fashion_mnist_options_are_checked_before_the_download(argv, message, monkeypatch, capsys):
    from skconv import __main__ as cli

    monkeypatch.setattr(cli, "run_fashion_mnist", lambda: pytest.fail("the job started"))
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--dataset", "fashion-mnist", *argv])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == "" and message in captured.err


def test_fashion_mnist_does_not_check_the_digits_only_options(monkeypatch):
    # The pooling window is the recipe's own there, so a digits-sized limit does not apply.
    from skconv import __main__ as cli

    monkeypatch.setattr(cli, "run_fashion_mnist", lambda: 0)
    assert cli.main(["--dataset", "fashion-mnist", "--pool-size", "20"]) == 0

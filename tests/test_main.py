"""The main job, ``python -m skconv``: run through main() with arguments, as a user would."""

import re
import subprocess
import sys

import pytest

from skconv import __version__
from skconv.__main__ import main


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
    argv = ["--filters", "seed", "--activation", "relu", "--pool-mode", "max"]
    argv += ["--pool-stride", "2", "--classifier", "logreg", "-C", "1"]
    assert main(argv) == 0
    output = capsys.readouterr().out
    assert (
        "conv(seed, activation=relu) + pool(max 2x2, stride 2) + StandardScaler + "
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
    assert best.group(1) in {"seed", "edges", "gabor", "random", "pca", "kmeans"}
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
        (["--filters", "seed", "--kernel-size", "5"], "--kernel-size does not apply"),
        (["--filters", "edges", "--n-filters", "4"], "--n-filters does not apply"),
        (["--filters", "nope"], "invalid choice"),
    ],
)
def test_bad_options_exit_with_a_usage_error(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


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

"""The main job, ``python -m skconv``: run through main() with arguments, as a user would."""

import contextlib
import gzip
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC
from sklearn.utils import Bunch

from skconv import ConvFeatureExtractor, __version__
from skconv import __main__ as cli
from skconv import _cli_report as report
from skconv._heartbeat import RunProgress, RunState, duration
from skconv.filters._presets import PRESETS

DIGITS_TRAIN = load_digits().images[:898]


@pytest.fixture
def small_digits(monkeypatch):
    """The first 300 digits, so that the job's first half is 150 images: a faster job."""
    digits = load_digits()
    small = Bunch(data=digits.data[:300], images=digits.images[:300], target=digits.target[:300])
    monkeypatch.setattr(cli, "load_digits", lambda: small)
    return small


def accuracies(output: str) -> tuple[float, float]:
    baseline = re.search(r"^raw-pixel SVC test accuracy:\s+([01]\.\d{4})$", output, re.M)
    skconv = re.search(r"^skconv pipeline test accuracy:\s+([01]\.\d{4})$", output, re.M)
    assert baseline and skconv, output
    return float(baseline.group(1)), float(skconv.group(1))


def usage_error(argv, capsys) -> str:
    """The last line of the usage error of ``argv``, checked to come before any output."""
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines()[-1].startswith(f"{cli.build_parser().prog}: error: ")
    return captured.err.splitlines()[-1]


def test_default_run_beats_the_raw_pixel_baseline_and_writes_the_filters_png(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from matplotlib.image import imread

    png = tmp_path / "filters.png"
    assert cli.main(["--plot-filters", str(png)]) == 0
    output = capsys.readouterr().out

    for progress in ("[1/3] raw-pixel baseline", "[2/3] skconv pipeline", "[3/3] scoring"):
        assert progress in output
    # ConvFeatureExtractor's defaults: gabor, 5x5 (as docs/getting_started.rst shows).
    assert "conv(gabor 5x5, activation=abs) + pool(avg 2x2, stride 1)" in output
    assert re.search(r"^time taken: \d+\.\d s$", output, re.M)
    baseline, accuracy = accuracies(output)
    # scikit-learn's digits example reports 0.9689 for this SVC on this split.
    assert baseline == pytest.approx(0.9689, abs=1e-4)
    assert accuracy >= 0.985  # 0.9878 measured

    assert f"wrote the filter bank to {png} (PNG)" in output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    picture = imread(png)
    assert picture.ndim == 3 and picture.shape[0] > 50 and picture.shape[1] > 400
    assert picture[..., :3].std() > 0  # not a blank canvas


def test_plot_filters_writes_exactly_the_path_given(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    for name, magic in (("filters", b"\x89PNG"), ("filters.svg", b"<?xml")):
        assert cli.main(["--filters", "tutorial", "--plot-filters", str(tmp_path / name)]) == 0
        assert (tmp_path / name).read_bytes().startswith(magic)
        fmt = "PNG" if name == "filters" else "SVG"
        assert f"wrote the filter bank to {tmp_path / name} ({fmt})" in capsys.readouterr().out
    assert sorted(path.name for path in tmp_path.iterdir()) == ["filters", "filters.svg"]


def test_options_reach_the_pipeline(capsys):
    argv = ["--filters", "tutorial", "--activation", "relu", "--pool-mode", "max"]
    argv += ["--pool-stride", "2", "--classifier", "logreg", "-C", "1"]
    assert cli.main(argv) == 0
    output = capsys.readouterr().out
    assert (
        "conv(tutorial 3x3, activation=relu) + pool(max 2x2, stride 2) + StandardScaler + "
        "LogisticRegression(C=1)"
    ) in output
    _, accuracy = accuracies(output)
    assert 0.5 < accuracy < 1.0


@pytest.mark.parametrize("name", list(PRESETS))
def test_a_preset_builds_what_the_estimator_builds(name, small_digits, capsys):
    # The command line has no defaults of its own: --filters edges is 3x3, as the library's.
    library = ConvFeatureExtractor(name, random_state=0).fit(small_digits.images[:150])
    assert cli.main(["--filters", name]) == 0
    rows, cols = library.filters_.shape[1:]
    assert f"conv({name} {rows}x{cols}, " in capsys.readouterr().out


def test_edges_is_three_by_three():
    assert PRESETS["edges"].default_kernel_size == 3
    assert ConvFeatureExtractor("edges").fit(DIGITS_TRAIN).filters_.shape == (4, 3, 3)


class RecordedProgress:
    """A stand-in for RunProgress that records the stages and units it is told about."""

    runs: list = []

    def __init__(self, shares, **kwargs):
        self.shares, self.stages, self.units = shares, [], 0
        RecordedProgress.runs.append(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        pass

    @contextlib.contextmanager
    def stage(self, name, n_units=0):
        assert name in self.shares
        self.stages.append((name, n_units))
        yield

    def unit_done(self):
        self.units += 1

    @contextlib.contextmanager
    def stages_marked_by(self, estimator, ends):
        self.stages.extend((name, ends[name]) for name in ends)
        yield


def test_grid_search_reports_its_choice_and_counts_every_fit(small_digits, capsys, monkeypatch):
    RecordedProgress.runs = []
    monkeypatch.setattr(cli, "RunProgress", RecordedProgress)
    assert cli.main(["--grid-search", "--cv", "2", "--n-jobs", "2"]) == 0
    output = capsys.readouterr().out
    assert "6 banks x 4 poolings, 2-fold cross-validation (48 fits" in output
    best = re.search(r"best: conv\((\w+).*cross-validated accuracy ([01]\.\d{4})", output)
    assert best, output
    assert best.group(1) in PRESETS
    assert 0.5 < float(best.group(2)) <= 1.0
    accuracies(output)
    [run] = RecordedProgress.runs
    # 48 fits counted as they are scored, and the refit of the best that follows them.
    assert run.stages == [("grid search", 49)] and run.units == 48


def test_help_lists_the_options_and_the_library_choices(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--filters", "--pool-mode", "--classifier", "--plot-filters", "--folder"):
        assert option in text
    for choice in (*PRESETS, "triangle", "crelu", "none"):
        assert choice in text


class JobStarted(Exception):
    pass


def job_started(*args, **kwargs):
    raise JobStarted


@pytest.mark.parametrize("name", list(PRESETS))
def test_size_options_are_refused_by_the_library_exactly_where_the_table_says(
    name, small_digits, capsys, monkeypatch
):
    preset = PRESETS[name]
    for option, value, takes in (
        ("--n-filters", "6", preset.takes_n_filters),
        ("--kernel-size", "5", preset.takes_kernel_size),
    ):
        argv = ["--filters", name, option, value]
        if takes:  # the options pass their checks: the job starts with its baseline
            with monkeypatch.context() as patch:
                patch.setattr(SVC, "fit", job_started)
                with pytest.raises(JobStarted):
                    cli.main(argv)
            assert "does not apply" not in capsys.readouterr().err
        else:
            message = usage_error(argv, capsys)
            assert f"{' '.join(argv)}: filters={name!r} is " in message


def test_python_dash_m_runs_the_main_job():
    result = subprocess.run(
        [sys.executable, "-m", "skconv", "--version"], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == f"skconv {__version__}"


# --- bad values end in a usage error before any work -------------------------------------------

BAD_VALUES = [
    (["--pool-size", "20"], "--pool-size 20 --pool-stride 1: The pooling window has 20 rows"),
    (["--pool-size", "0"], "argument --pool-size: must be an int in the range [1, inf)"),
    (["--pool-stride", "0"], "argument --pool-stride: must be an int in the range [1, inf)"),
    (["--grid-search", "--cv", "1"], "argument --cv: k-fold cross-validation requires at least"),
    (["--grid-search", "--cv", "200"], "argument --cv: n_splits=200 cannot be greater than"),
    (["--grid-search", "--n-jobs", "0"], "argument --n-jobs: n_jobs == 0 in Parallel has no"),
    (["--n-filters", "0"], "argument --n-filters: must be an int in the range [1, inf) or None"),
    (["--n-filters", "two"], "argument --n-filters: invalid int value: 'two'"),
    (["--kernel-size", "0"], "argument --kernel-size: must be an int in the range [1, inf)"),
    (["--kernel-size", "1"], "--kernel-size 1: gabor_bank needs at least 2 pixels per kernel"),
    (["--filters", "edges", "--kernel-size", "7"], "--filters edges --kernel-size 7: edge_bank"),
    (
        ["--filters", "pca", "--kernel-size", "3", "--n-filters", "9"],
        "--filters pca --kernel-size 3 --n-filters 9: n_filters=9 exceeds the 8",
    ),
    (["--activation", "sigmoid"], "argument --activation: invalid choice: 'sigmoid'"),
    (["-C", "0"], "argument -C: must be a float in the range (0.0, inf]. Got 0.0 instead."),
    (["-C", "nan"], "argument -C: must be a float in the range (0.0, inf]. Got nan instead."),
    (["--classifier", "logreg", "-C", "-1"], "argument -C: must be a float in the range"),
    (["--n-jobs", "0"], "argument --n-jobs: must be an int in the range (-inf, -1], an int in"),
    (["--random-state", "-1"], "argument --random-state: must be an int in the range [0, 4294"),
    (["--grid-search", "--filters", "edges"], "--filters does not apply with --grid-search"),
    (
        ["--grid-search", "--kernel-size", "3", "--pool-size", "3"],
        "--kernel-size --pool-size do not apply with --grid-search, which chooses them",
    ),
    (["--test-size", "0.5"], "--test-size does not apply to --dataset digits"),
    (["--image-shape", "8", "8"], "--image-shape does not apply to --dataset digits"),
    (["--plot-filters", "no/such/folder/f.png"], "the folder 'no/such/folder' does not exist"),
    (["--plot-filters", "."], "argument --plot-filters: . is a folder; give a file name in it"),
    (["--plot-filters", "out.png/"], "out.png/ ends in a path separator, so it names a folder"),
    (["--plot-filters", "filters.xyz"], "matplotlib cannot write .xyz files"),
    (["--dataset", "fashion-mnist", "--folder", "x"], "not allowed with argument --dataset"),
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
    assert message in usage_error(argv, capsys)


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root may write anywhere"
)
def test_plot_filters_in_a_read_only_folder_is_refused_before_the_job(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    (tmp_path / "old.png").write_bytes(b"")
    (tmp_path / "old.png").chmod(0o400)
    message = usage_error(["--plot-filters", str(tmp_path / "old.png")], capsys)
    assert "old.png cannot be written here (no permission)" in message
    tmp_path.chmod(0o500)
    try:
        message = usage_error(["--plot-filters", str(tmp_path / "f.png")], capsys)
    finally:
        tmp_path.chmod(0o700)
    assert "argument --plot-filters" in message and "cannot be written here" in message


def test_the_largest_pool_window_that_fits_is_accepted(capsys):
    assert cli.main(["--pool-size", "8"]) == 0
    assert "pool(avg 8x8, stride 1)" in capsys.readouterr().out
    assert "The pooling window has 9 rows" in usage_error(["--pool-size", "9"], capsys)


# --- Fashion-MNIST: the recipe, its options, and its data ------------------------------------


def fake_fashion_mnist(n_train=60, n_test=20):
    """A stand-in for fetch_fashion_mnist: random 28x28 images, as the real one returns them."""

    def fetch(*, subset="train", **kwargs):
        n = n_train if subset == "train" else n_test
        rng = np.random.RandomState(0 if subset == "train" else 1)
        images = rng.randint(0, 256, size=(n, 28, 28)).astype(np.uint8)
        return Bunch(images=images, target=np.arange(n) % 10)

    return fetch


@pytest.fixture
def small_recipe(monkeypatch):
    """The real recipe and its real wiring, with fewer landmarks and PCA components."""
    from skconv import datasets, recipes

    calls = []
    real = recipes.fashion_mnist_pipeline

    def small(**kwargs):
        calls.append(kwargs)
        model = real(n_components=30, **kwargs)
        return model.set_params(n_pca_components=10, n_patches=1000)

    monkeypatch.setattr(recipes, "fashion_mnist_pipeline", small)
    monkeypatch.setattr(datasets, "fetch_fashion_mnist", fake_fashion_mnist())
    return calls


def test_fashion_mnist_runs_the_recipe_in_stages_with_the_options_given(
    small_recipe, tmp_path, monkeypatch, capsys
):
    pytest.importorskip("matplotlib")
    RecordedProgress.runs = []
    monkeypatch.setattr(cli, "RunProgress", RecordedProgress)
    picture = tmp_path / "bank.png"
    argv = ["--dataset", "fashion-mnist", "--n-jobs", "1", "--random-state", "7"]
    assert cli.main([*argv, "--plot-filters", str(picture)]) == 0
    assert small_recipe == [{"n_jobs": 1, "random_state": 7, "verbose": 1}]
    output = capsys.readouterr().out
    assert "Fashion-MNIST: 60 training and 20 test images" in output
    assert re.search(r"^skconv recipe test accuracy: [01]\.\d{4}$", output, re.M)
    assert f"wrote the filter bank to {picture} (PNG)" in output
    assert picture.read_bytes()[:4] == b"\x89PNG"
    [run] = RecordedProgress.runs
    assert [name for name, _ in run.stages] == [*report.FIT_STAGES, "score the test images"]
    assert run.stages[:3] == list(report.FIT_STAGES.items())
    assert list(run.shares) == [name for name, _ in run.stages]


def test_fashion_mnist_uses_all_cores_unless_told(small_recipe, monkeypatch, capsys):
    monkeypatch.setattr(cli, "run_recipe", lambda *args: 0)
    assert cli.main(["--dataset", "fashion-mnist"]) == 0
    assert small_recipe == [{"n_jobs": -1, "random_state": 0, "verbose": 1}]


def test_fashion_mnist_refuses_the_options_it_would_ignore(capsys, monkeypatch):
    from skconv import datasets

    monkeypatch.setattr(datasets, "fetch_fashion_mnist", lambda **kw: pytest.fail("loaded"))
    argv = ["--dataset", "fashion-mnist", "--filters", "gabor", "-C", "3", "--grid-search"]
    message = usage_error(argv, capsys)
    assert "--filters -C --grid-search do not apply to --dataset" in message
    assert "--pool-size does not apply" in usage_error([*argv[:2], "--pool-size", "3"], capsys)
    assert "--n-jobs: must be an int" in usage_error([*argv[:2], "--n-jobs", "0"], capsys)
    message = usage_error([*argv[:2], "--plot-filters", "/no/such/folder/x.png"], capsys)
    assert "the folder '/no/such/folder' does not exist" in message


def test_missing_fashion_mnist_is_one_clear_message(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SKCONV_FASHION_MNIST", str(tmp_path / "nowhere"))
    assert cli.main(["--dataset", "fashion-mnist"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    lines = captured.err.splitlines()
    assert lines[0].startswith("skconv: ") and "nowhere" in lines[0]
    assert any("apt-get install" in line for line in lines)
    assert max(map(len, lines)) < 200  # several short lines, not one long one


def test_corrupt_fashion_mnist_is_one_clear_message(tmp_path, monkeypatch, capsys):
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        (tmp_path / f"{stem}.gz").write_bytes(gzip.compress(b"\x00" * 100)[:30])
    for stem in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (tmp_path / f"{stem}.gz").write_bytes(b"not gzip at all")
    monkeypatch.setenv("SKCONV_FASHION_MNIST", str(tmp_path))
    assert cli.main(["--dataset", "fashion-mnist"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    assert captured.err.startswith("skconv: ") and "train-images-idx3-ubyte" in captured.err


# --- the progress of a whole run -------------------------------------------------------------


def test_recipe_shares_scale_the_measured_run_by_what_each_stage_works_on():
    params = {"max_fit_samples": 10_000, "n_components": 8_000}
    fashion_mnist = report.recipe_shares(params, 60_000, 10_000)
    assert list(fashion_mnist.values()) == pytest.approx([9.6, 17.9, 58.2, 3.3])
    small = report.recipe_shares(params, 600, 200)
    # 600 images: the bank and PCA dominate, the classifier's 600 landmarks are cheap.
    assert small["fit the features"] == pytest.approx(9.6 * 0.06)
    assert small["fit the classifier"] == pytest.approx(58.2 * 0.01 * (600 / 8000) ** 2)
    assert max(small, key=small.get) == "fit the features"


def test_run_state_estimates_the_whole_run_from_the_stages_done():
    state = RunState({"features": 1, "classifier": 2, "test": 1}, now=0.0)
    state.begin("features", 0, now=0.0)
    # During the first stage, the shares alone: features taking 10 s of a quarter.
    assert state.time_left(now=10.0) == pytest.approx(30.0)
    state.end(now=20.0)
    state.begin("classifier", 0, now=20.0)
    # 20 s for a quarter: 80 s in all, 60 s left at the start of the classifier.
    assert state.time_left(now=20.0) == pytest.approx(60.0)
    assert state.time_left(now=50.0) == pytest.approx(30.0)
    # The classifier outlasts its 40 s: taken as ending now, so the estimate grows.
    assert state.time_left(now=60.0) == pytest.approx(20.0)
    assert state.time_left(now=80.0) == pytest.approx(80 / 0.75 - 80)
    assert state.time_left(now=100.0) == pytest.approx(100 / 0.75 - 100)
    assert "1 min 40 s elapsed; stage 2/3 (classifier); about 33 s left" in state.line(100.0)


def test_run_state_counts_units_within_a_stage():
    state = RunState({"grid search": 9, "refit": 1}, now=0.0)
    state.begin("grid search", 90, now=0.0)
    assert "(grid search, 0/90)" in state.line(now=1.0)
    for _ in range(30):
        state.unit_done()
    # A third of 90% of the run in 30 s: 100 s in all.
    assert state.time_left(now=30.0) == pytest.approx(100 - 30)
    assert "30 s elapsed; stage 1/2 (grid search, 30/90); about 1 min 10 s left" in state.line(
        30.0
    )


class SendsRecorded(RunProgress):
    """A RunProgress whose messages are recorded instead of sent to a watcher."""

    def __init__(self, shares):
        super().__init__(shares)
        self.messages = []

    def _send(self, message):
        self.messages.append(message)


class ThreeStageFit:
    """An estimator whose fit sets one attribute per stage, a moment apart."""

    def fit(self):
        import time

        for attribute in ("first_", "second_", "third_"):
            time.sleep(0.3)
            setattr(self, attribute, True)


def test_stages_inside_one_call_end_as_the_fitted_attributes_appear():
    model = ThreeStageFit()
    progress = SendsRecorded({"a": 1, "b": 1, "c": 1, "score": 1})
    with progress.stages_marked_by(model, {"a": "first_", "b": "second_", "c": "third_"}, 0.05):
        model.fit()
    begin_end = [next(iter(message.items())) for message in progress.messages]
    assert begin_end == [
        ("begin", "a"), ("end", "a"), ("begin", "b"), ("end", "b"), ("begin", "c"), ("end", "c")
    ]  # fmt: skip


def test_the_recipes_stage_markers_appear_as_its_stages_end(monkeypatch):
    """The attributes the command line watches appear in ImageClassifier.fit as each stage
    ends: when the classifier's fit starts, the features' two stages are marked ended and the
    classifier's stage is not."""
    from skconv import NystroemRidgeClassifier
    from skconv.recipes import make_image_classifier

    model = make_image_classifier(n_filters=4, n_patches=500, n_components=20)
    seen_at_classifier_fit = []
    real_fit = NystroemRidgeClassifier.fit

    def fit(classifier, X, y):
        seen_at_classifier_fit.append([hasattr(model, a) for a in report.FIT_STAGES.values()])
        return real_fit(classifier, X, y)

    monkeypatch.setattr(NystroemRidgeClassifier, "fit", fit)
    images, labels = load_digits(return_X_y=True)
    model.set_params(image_shape=(8, 8)).fit(images[:60], labels[:60])
    assert seen_at_classifier_fit == [[True, True, False]]
    assert all(hasattr(model, attribute) for attribute in report.FIT_STAGES.values())


def test_stages_not_seen_inside_the_call_end_when_it_returns():
    progress = SendsRecorded({"a": 1, "b": 1})
    with progress.stages_marked_by(object(), {"a": "never_", "b": "never_either_"}, 10.0):
        pass
    begin_end = [next(iter(message.items())) for message in progress.messages]
    assert begin_end == [("begin", "a"), ("end", "a"), ("begin", "b"), ("end", "b")]


@pytest.mark.parametrize(
    ("seconds", "text"), [(0.4, "0 s"), (59.4, "59 s"), (65, "1 min 05 s"), (3725, "1 h 02 min")]
)
def test_duration(seconds, text):
    assert duration(seconds) == text


def test_the_watcher_prints_every_few_seconds_whatever_the_run_does(capfd):
    import time

    started = time.monotonic()
    with RunProgress({"one": 1, "two": 1}, every=0.2) as progress:
        with progress.stage("one"):
            time.sleep(0.1)
        with progress.stage("two"):
            while time.monotonic() - started < 1.5:
                sum(range(10**6))  # a C loop that holds this process's GIL
    lines = capfd.readouterr().out.splitlines()
    assert len(lines) >= 3, lines
    assert RunProgress({"run": 1}).every == 10.0  # what the command line uses
    assert all(line.startswith("[skconv] ") and "left in all" in line for line in lines)
    assert "stage 2/2 (two)" in lines[-1]


# --- --folder: the general recipe on a user's folder ------------------------------------------


def write_folder(root, n_per_class=24, size=(16, 16), corrupt=False, odd_size=False):
    """Two classes of grey PNGs, horizontal and vertical stripes under noise."""
    from skimage.io import imsave

    rng = np.random.RandomState(0)
    stripes = (np.arange(size[0]) % 4 < 2)[:, None] * np.ones(size)
    for name, pattern in (("horizontal", stripes), ("vertical", stripes.T[: size[0], : size[1]])):
        (root / name).mkdir(parents=True)
        for i in range(n_per_class):
            image = 200 * pattern + rng.randint(0, 56, size=size)
            imsave(root / name / f"{i:03d}.png", image.astype(np.uint8), check_contrast=False)
    if corrupt:
        (root / "vertical" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    if odd_size:
        imsave(root / "horizontal" / "big.png", np.zeros((20, 24), np.uint8), check_contrast=False)
    return root


def test_plot_filters_says_so_when_a_model_holds_no_bank(tmp_path, capsys):
    from sklearn.decomposition import PCA

    report.write_filters(PCA().fit(np.eye(3)), str(tmp_path / "bank.png"))
    assert "the model holds no filter bank, so nothing was written" in capsys.readouterr().out
    assert not (tmp_path / "bank.png").exists()


def test_folder_trains_and_scores_the_general_recipe(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    folder = write_folder(tmp_path / "images")
    picture = tmp_path / "bank.png"
    argv = ["--folder", str(folder), "--n-jobs", "1", "--plot-filters", str(picture)]
    assert cli.main(argv) == 0
    output = capsys.readouterr().out
    # 48 images, a quarter of each class held out: 36 to train, 12 to test.
    assert f"{folder}, 2 classes: 36 training and 12 test images" in output
    accuracy = re.search(r"^skconv recipe test accuracy: ([01]\.\d{4})$", output, re.M)
    assert accuracy and float(accuracy.group(1)) == 1.0  # stripes under noise: measured 1.0
    assert picture.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("problem", "excerpts"),
    [
        ("missing", ["nowhere"]),
        ("corrupt", ["broken.png"]),
        ("odd_size", ["different sizes", "--image-shape "]),
    ],
)
def test_folder_data_problems_are_one_clear_message(problem, excerpts, tmp_path, capsys):
    folder = tmp_path / "nowhere"
    if problem != "missing":
        folder = write_folder(tmp_path / "images", n_per_class=4, **{problem: True})
    assert cli.main(["--folder", str(folder)]) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and captured.err.startswith("skconv: ")
    for excerpt in excerpts:
        assert excerpt in captured.err
    assert "image_shape" not in captured.err  # said as the option


def test_folder_holds_out_a_stratified_test_size(tmp_path):
    folder = write_folder(tmp_path / "images", n_per_class=10)
    args = cli.build_parser().parse_args(["--folder", str(folder), "--test-size", "0.4"])
    X_train, X_test, y_train, y_test, what = cli.load_folder(args)
    assert X_train.shape == (12, 16, 16) and X_test.shape == (8, 16, 16)
    assert np.bincount(y_train).tolist() == [6, 6] and np.bincount(y_test).tolist() == [4, 4]
    assert what == f"{folder}, 2 classes"


def test_folder_image_shape_brings_mixed_sizes_to_one(tmp_path):
    folder = write_folder(tmp_path / "images", n_per_class=4, odd_size=True)
    args = cli.build_parser().parse_args(["--folder", str(folder), "--image-shape", "12", "10"])
    X_train, X_test, *_ = cli.load_folder(args)
    assert X_train.shape[1:] == X_test.shape[1:] == (12, 10)

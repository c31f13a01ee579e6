"""Saving and loading fitted skconv models: skops.io (no arbitrary code), joblib and pickle.

Every fitted estimator and pipeline must give bitwise identical outputs after a round trip. With
``skops.io`` the only types a user must trust are skconv's, scikit-learn's and numpy's. A model
saved by one skconv version and loaded by another warns with ``SkconvVersionWarning``.
"""

import io
import pickle
import warnings

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import skconv
from skconv import ConvFeatureExtractor, ConvPool, PoolTransformer, SkconvVersionWarning

sio = pytest.importorskip("skops.io")

TRUSTED_PACKAGES = ("skconv.", "sklearn.", "numpy.")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:400], y[:400]


def conv_configurations():
    colour_bank = np.random.RandomState(1).randn(2, 3, 3, 3)
    return [
        ("tutorial", {"filters": "tutorial"}),
        ("gabor", {"filters": "gabor", "n_filters": 4, "kernel_size": 5}),
        ("edges", {"filters": "edges"}),
        ("random-crelu", {"filters": "random", "activation": "crelu", "random_state": 0}),
        ("kmeans", {"filters": "kmeans", "n_filters": 4, "kernel_size": 3, "n_patches": 1000,
                    "random_state": 0}),
        ("kmeans-rng", {"filters": "kmeans", "n_filters": 4, "kernel_size": 3, "n_patches": 1000,
                        "random_state": np.random.RandomState(0)}),
        ("pca-stride", {"filters": "pca", "n_filters": 3, "kernel_size": 3, "stride": 2,
                        "n_patches": 1000, "random_state": 0}),
        ("explicit-even", {"filters": np.ones((2, 2, 4)), "padding": (1, 0),
                           "normalize": True}),
        ("colour-full-bank", {"filters": colour_bank, "image_shape": (8, 8, 3)}),
    ]  # fmt: skip


def pool_configurations():
    return [
        ("max", {}),
        ("avg-overlap", {"mode": "avg", "pool_size": 3, "stride": 1, "padding": 1}),
        ("global", {"pool_size": None}),
        ("grid", {"grid": 2, "flatten": False}),
    ]


def fitted_pipelines(X, y):
    """Fitted estimators and pipelines, each with the input its transform/predict takes."""
    models = []
    for name, params in conv_configurations():
        params = {"image_shape": (8, 8), **params}
        data = X
        if params["image_shape"] == (8, 8, 3):
            data = np.repeat(X, 3, axis=1).reshape(len(X), 8, 8, 3).reshape(len(X), -1)
        models.append((f"conv-{name}", ConvFeatureExtractor(**params).fit(data), data))
    maps = ConvFeatureExtractor(filters="tutorial", image_shape=(8, 8)).fit_transform(X)
    for name, params in pool_configurations():
        models.append((f"pool-{name}", PoolTransformer(**params).fit(maps), maps))
    convpool = ConvPool(
        ConvFeatureExtractor(
            filters="kmeans", n_filters=4, kernel_size=3, n_patches=1000, random_state=0
        ),
        PoolTransformer(mode="avg", stride=1),
        batch_size=7,
    )
    images = X.reshape(-1, 8, 8)
    models.append(("convpool", convpool.fit(images), images))
    pipeline = Pipeline(
        [
            ("conv", ConvFeatureExtractor(filters="tutorial", image_shape=(8, 8))),
            ("pool", PoolTransformer(mode="avg")),
            ("scale", StandardScaler()),
            ("clf", LogisticRegression(max_iter=300)),
        ]
    ).fit(X, y)
    models.append(("pipeline", pipeline, X))
    return models


def outputs(model, X):
    if hasattr(model, "predict_proba"):
        return model.predict_proba(X)
    return model.transform(X)


def round_trips():
    def via_pickle(model, tmp_path):
        return pickle.loads(pickle.dumps(model))

    def via_joblib(model, tmp_path):
        path = tmp_path / "model.joblib"
        joblib.dump(model, path)
        return joblib.load(path)

    def via_skops(model, tmp_path):
        path = tmp_path / "model.skops"
        sio.dump(model, path)
        untrusted = sio.get_untrusted_types(file=path)
        assert all(name.startswith(TRUSTED_PACKAGES) for name in untrusted), untrusted
        return sio.load(path, trusted=untrusted)

    return {"pickle": via_pickle, "joblib": via_joblib, "skops": via_skops}


@pytest.fixture(scope="module")
def models(digits):
    return fitted_pipelines(*digits)


@pytest.mark.parametrize("how", sorted(round_trips()))
def test_round_trips_give_identical_outputs_and_parameters(models, how, tmp_path):
    load = round_trips()[how]
    for name, model, X in models:
        with warnings.catch_warnings():
            warnings.simplefilter("error", SkconvVersionWarning)
            loaded = load(model, tmp_path)
        assert type(loaded) is type(model), name
        np.testing.assert_array_equal(outputs(loaded, X), outputs(model, X), err_msg=name)
        # The loaded model is a working estimator: its clone refits to the same result.
        refit = clone(loaded).fit(X) if not hasattr(loaded, "predict") else None
        if refit is not None:
            np.testing.assert_array_equal(refit.transform(X), clone(model).fit(X).transform(X))


def test_skops_trusts_only_skconv_sklearn_and_numpy_types(models, tmp_path):
    untrusted_by_model = {}
    for name, model, _ in models:
        path = tmp_path / f"{name}.skops"
        sio.dump(model, path)
        untrusted_by_model[name] = sio.get_untrusted_types(file=path)
    every_type = set().union(*untrusted_by_model.values())
    assert every_type, "skconv's own estimators must need trusting; the check would be empty"
    assert all(name.startswith(TRUSTED_PACKAGES) for name in every_type), every_type
    # Concretely: skconv's estimators, and nothing else beyond what skops trusts itself.
    assert every_type == {
        "skconv._conv.ConvFeatureExtractor",
        "skconv._pool.PoolTransformer",
        "skconv._stream.ConvPool",
    }


def test_skops_refuses_to_load_untrusted_types_by_default(models, tmp_path):
    path = tmp_path / "pipeline.skops"
    sio.dump(dict((name, model) for name, model, _ in models)["pipeline"], path)
    with pytest.raises(Exception, match="Untrusted types found"):
        sio.load(path)


def test_skops_bytes_round_trip(models):
    _, model, X = models[-1]
    data = sio.dumps(model)
    loaded = sio.loads(data, trusted=sio.get_untrusted_types(data=data))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_unfitted_estimators_round_trip_unfitted(tmp_path):
    unfitted = [ConvFeatureExtractor(filters="pca"), PoolTransformer(grid=2), ConvPool()]
    for estimator in unfitted:
        for load in round_trips().values():
            loaded = load(estimator, tmp_path)
            assert loaded.get_params().keys() == estimator.get_params().keys()
            assert not [k for k in vars(loaded) if k.endswith("_") and not k.startswith("_")]


# --- version mismatch -------------------------------------------------------------------------


def saved_by_version(model, version, how, tmp_path, monkeypatch):
    """Save ``model`` as skconv ``version`` would, and return a loader for it."""
    with monkeypatch.context() as patch:
        patch.setattr(skconv._base, "__version__", version)
        if how == "pickle":
            data = pickle.dumps(model)
            return lambda: pickle.loads(data)
        if how == "joblib":
            buffer = io.BytesIO()
            joblib.dump(model, buffer)
            return lambda: joblib.load(io.BytesIO(buffer.getvalue()))
        data = sio.dumps(model)
        return lambda: sio.loads(data, trusted=sio.get_untrusted_types(data=data))


@pytest.mark.parametrize("how", ["pickle", "joblib", "skops"])
def test_loading_a_model_saved_by_another_version_warns(models, how, tmp_path, monkeypatch):
    _, model, X = models[-1]  # the pipeline: both skconv estimators inside
    load = saved_by_version(model, "0.0.1", how, tmp_path, monkeypatch)
    with pytest.warns(SkconvVersionWarning) as record:
        loaded = load()
    messages = {str(w.message) for w in record if w.category is SkconvVersionWarning}
    assert len(messages) == 2  # one per skconv estimator in the pipeline
    for message in messages:
        assert "saved by skconv 0.0.1 and is loaded by skconv " + skconv.__version__ in message
        assert "Refit it, or load it with skconv 0.0.1" in message
    # The warning does not stop the model from loading as it was saved.
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


@pytest.mark.parametrize("how", ["pickle", "skops"])
def test_a_model_saved_by_the_same_version_loads_silently(models, how, tmp_path, monkeypatch):
    _, model, _ = models[-1]
    load = saved_by_version(model, skconv.__version__, how, tmp_path, monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SkconvVersionWarning)
        load()


@pytest.mark.parametrize("how", ["pickle", "skops"])
def test_a_state_without_a_version_warns_as_older(how, tmp_path, monkeypatch):
    """Edit the pickled state as an older skconv (with no version field) would have saved it."""
    conv = ConvFeatureExtractor(filters="tutorial").fit(np.ones((2, 5, 5)))
    monkeypatch.setattr(
        ConvFeatureExtractor,
        "__getstate__",
        lambda self: {k: v for k, v in vars(self).items() if k != "_skconv_version"},
    )
    if how == "pickle":
        data = pickle.dumps(conv)
        monkeypatch.undo()
        load = lambda: pickle.loads(data)  # noqa: E731
    else:
        data = sio.dumps(conv)
        monkeypatch.undo()
        load = lambda: sio.loads(data, trusted=sio.get_untrusted_types(data=data))  # noqa: E731
    with pytest.warns(SkconvVersionWarning, match=r"saved by skconv unknown \(older than 0.1\)"):
        loaded = load()
    np.testing.assert_array_equal(loaded.filters_, conv.filters_)


@pytest.mark.parametrize("how", ["pickle", "skops"])
def test_convpool_saved_by_another_version_warns_for_itself_and_its_steps(
    models, how, tmp_path, monkeypatch
):
    _, model, images = dict((m[0], m) for m in models)["convpool"]
    load = saved_by_version(model, "0.0.1", how, tmp_path, monkeypatch)
    with pytest.warns(SkconvVersionWarning) as record:
        loaded = load()
    names = {str(w.message).split()[1] for w in record if w.category is SkconvVersionWarning}
    assert names == {"ConvPool", "ConvFeatureExtractor", "PoolTransformer"}
    np.testing.assert_array_equal(loaded.transform(images), model.transform(images))


def test_the_documented_recipe_refuses_a_tampered_file(models, tmp_path):
    """A file edited to name subprocess.Popen: listed as untrusted, refused by the recipe."""
    import json
    import zipfile

    _, model, _ = dict((m[0], m) for m in models)["convpool"]
    path, tampered = tmp_path / "model.skops", tmp_path / "tampered.skops"
    sio.dump(model, path)
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(tampered, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "schema.json":
                schema = json.loads(data)
                schema["__module__"], schema["__class__"] = "subprocess", "Popen"
                data = json.dumps(schema).encode()
            target.writestr(item, data)
    # The unsafe recipe would trust it: the file lists what it wants trusted.
    assert "subprocess.Popen" in sio.get_untrusted_types(file=tampered)
    with pytest.raises(Exception, match=r"subprocess\.Popen"):
        sio.load(tampered, trusted=skconv.SKOPS_TRUSTED_TYPES)
    # The untampered file loads with exactly that list.
    sio.load(path, trusted=skconv.SKOPS_TRUSTED_TYPES)

"""Sphinx configuration for skconv's documentation.

Build with ``sphinx-build -W --keep-going -b html docs docs/_build/html`` after
``pip install -e ".[docs]"``; it executes every gallery example under ``examples/``.
"""

import doctest
import os
import re
import sys
from pathlib import Path

from sphinx.util import logging

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))

import skconv  # noqa: E402
import skconv.filters  # noqa: E402
import skconv.plotting  # noqa: E402

project = "skconv"
author = "the skconv developers"
copyright = "the skconv developers (BSD-3-Clause)"
release = skconv.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
default_role = "literal"

# -- API reference ----------------------------------------------------------------------------
autosummary_generate = True
autodoc_typehints = "none"  # numpydoc sections already give the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# -- Doctests ---------------------------------------------------------------------------------
# Docstring examples run under ``pytest --doctest-modules``; the doctest builder runs only the
# ``.. doctest::`` blocks of these pages, so nothing is run twice.
doctest_test_doctest_blocks = ""
# As pytest runs the docstrings (pyproject.toml): ELLIPSIS and NORMALIZE_WHITESPACE.
doctest_default_flags = (
    doctest.ELLIPSIS
    | doctest.NORMALIZE_WHITESPACE
    | doctest.IGNORE_EXCEPTION_DETAIL
    | doctest.DONT_ACCEPT_TRUE_FOR_1
)

# -- Links to numpy, scikit-learn and scikit-image --------------------------------------------
# Their inventories (objects.inv) live on their websites, and none ships inside the installed
# packages. A build without network access (CI here reaches only package registries) would
# fail to fetch them, and Sphinx reports that as a warning, which -W turns into an error. So
# the links are opt-in: set SKCONV_DOCS_INTERSPHINX=1 where the websites can be reached. Without
# it, references such as :class:`~sklearn.pipeline.Pipeline` render as code, unlinked.
INTERSPHINX_TARGETS = {
    "python": "https://docs.python.org/3",
    "numpy": "https://numpy.org/doc/stable",
    "scipy": "https://docs.scipy.org/doc/scipy",
    "sklearn": "https://scikit-learn.org/stable",
    "skimage": "https://scikit-image.org/docs/stable",
    "matplotlib": "https://matplotlib.org/stable",
}
if os.environ.get("SKCONV_DOCS_INTERSPHINX") == "1":
    intersphinx_mapping = {name: (url, None) for name, url in INTERSPHINX_TARGETS.items()}
else:
    intersphinx_mapping = {}

# -- Gallery ----------------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("skconv",),
    "reference_url": {"skconv": None},
    "backreferences_dir": "generated/backreferences",
    "remove_config_comments": True,
    "min_reported_time": 1,
    # Pictures and printed output only: no repr of a cell's last value (figures, pipelines).
    "capture_repr": (),
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
}

# -- HTML -------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skconv {release}"
html_static_path = ["_static"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_show_sourcelink = False

# -- Every public name must be in the API reference -------------------------------------------
API_PAGE = DOCS / "api.rst"
PUBLIC_MODULES = {
    "skconv": [name for name in skconv.__all__ if name != "__version__"],
    "skconv.filters": skconv.filters.__all__,
    "skconv.plotting": skconv.plotting.__all__,
}


def check_api_reference(app):
    """Warn (an error under -W) about a public name that docs/api.rst does not list."""
    logger = logging.getLogger(__name__)
    listed = set(re.findall(r"^\s+([\w.]+)\s*$", API_PAGE.read_text(), flags=re.M))
    for module, names in PUBLIC_MODULES.items():
        for name in names:
            qualified = f"{module}.{name}"
            if name not in listed and qualified not in listed:
                logger.warning(
                    "%s is public (in %s.__all__) but docs/api.rst does not list it; add it "
                    "to the autosummary of its section.",
                    qualified,
                    module,
                )


def skip_metadata_request_setters(app, what, name, obj, skip, options):
    """Leave out scikit-learn's generated ``set_{method}_request`` methods.

    scikit-learn adds them to every estimator whose methods take metadata such as
    ``sample_weight`` (``NystroemRidgeClassifier.score`` does); their docstrings cite
    scikit-learn's glossary and user guide, which only exist in scikit-learn's own docs.
    """
    if re.fullmatch(r"set_\w+_request", name):
        return True
    return skip


def setup(app):
    app.connect("builder-inited", check_api_reference)
    app.connect("autodoc-skip-member", skip_metadata_request_setters)

"""The engine is numpy and scipy only: importing any of it loads no scikit-learn.

``skconv/__init__.py`` imports the estimators (and so scikit-learn), so the subprocess registers
an empty ``skconv`` package with skconv's folder as its path, and imports the engine's modules
as they would be imported by themselves.
"""

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import skconv._engine

SKCONV_DIR = str(Path(skconv._engine.__file__).parent.parent)


def modules_loaded_by(imports: list[str]) -> list[str]:
    """The top-level packages loaded after importing ``imports`` into a bare ``skconv``."""
    script = (
        "import importlib, json, sys, types\n"
        "package = types.ModuleType('skconv')\n"
        f"package.__path__ = [{SKCONV_DIR!r}]\n"
        "sys.modules['skconv'] = package\n"
        f"for name in {imports!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


def test_no_engine_module_imports_scikit_learn():
    modules = [
        f"skconv._engine.{info.name}" for info in pkgutil.iter_modules(skconv._engine.__path__)
    ]
    assert {"skconv._engine.convolution", "skconv._engine.pooling"} <= set(modules)
    loaded = modules_loaded_by(modules)
    assert "numpy" in loaded
    assert "sklearn" not in loaded


def test_the_check_sees_scikit_learn_when_a_module_imports_it():
    assert "sklearn" in modules_loaded_by(["skconv._engine.geometry", "skconv._shapes"])

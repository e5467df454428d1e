"""Untrusted files run no code: no pickle, Keras' safe mode, no shell, https only.

Two kinds of check: the code itself is scanned for the calls that would open those doors
(every ``np.load`` passes ``allow_pickle=False``, every ``load_model`` ``safe_mode=True``, no
``shell=True``), and the doors are tried: a pickled array and a model with Python code in
it are refused with a one-line error.
"""

import ast
from pathlib import Path

import keras
import numpy as np
import pytest
import yaml

from latentspace.io import InputError, load_latents, load_npy
from latentspace.model import load_autoencoder

REPO = Path(__file__).resolve().parents[1]
CODE = sorted([*REPO.glob("src/latentspace/**/*.py"), *REPO.glob("stages/*.py"), *REPO.glob("bench/*.py")])


def calls(name: str):
    """(file, ast.Call) of every call to a function or method called ``name`` in the project's code."""
    for path in CODE:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
                if called == name:
                    yield path.relative_to(REPO), node


def keyword(call: ast.Call, name: str):
    for kw in call.keywords:
        if kw.arg == name:
            return ast.literal_eval(kw.value) if isinstance(kw.value, ast.Constant) else "not a constant"
    return "missing"


def test_the_scan_sees_the_calls_it_checks():
    assert len(list(calls("load"))) >= 5 and len(list(calls("load_model"))) >= 1


def test_every_np_load_refuses_pickles():
    unsafe = [f"{path}:{call.lineno}" for path, call in calls("load")
              if ast.unparse(call.func) in ("np.load", "numpy.load") and keyword(call, "allow_pickle") is not False]
    assert unsafe == []


def test_every_load_model_is_in_safe_mode():
    unsafe = [f"{path}:{call.lineno}" for path, call in calls("load_model") if keyword(call, "safe_mode") is not True]
    assert unsafe == []


def test_no_shell_and_no_pickle_module():
    shell = [f"{path}:{call.lineno}" for name in ("run", "Popen", "call", "check_call", "check_output")
             for path, call in calls(name) if keyword(call, "shell") not in ("missing", False)]
    assert shell == [] and list(calls("system")) == []
    imports = [(path, alias.name) for path in CODE for node in ast.walk(ast.parse(path.read_text()))
               if isinstance(node, (ast.Import, ast.ImportFrom))
               for alias in node.names if "pickle" in (getattr(node, "module", None) or alias.name)]
    assert imports == []


def test_default_mirrors_are_https():
    mirrors = yaml.safe_load((REPO / "params.yaml").read_text())["data"]["celeba"]["mirrors"]
    urls = [m["url"] for entries in mirrors.values() for m in entries if "url" in m]
    assert all(url.startswith("https://") for url in urls)


def test_a_pickled_array_is_refused(tmp_path):
    path = tmp_path / "z.npy"
    np.save(path, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    for load in (load_npy, load_latents):
        with pytest.raises(InputError, match="not a readable .npy array") as err:
            load(path)
        assert "\n" not in str(err.value)


def test_a_model_holding_python_code_is_refused(tmp_path):
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2, name="code")(inputs))
    model.save(tmp_path / "lambda.keras")
    with pytest.raises(InputError, match="not a loadable .keras autoencoder") as err:
        load_autoencoder(tmp_path / "lambda.keras")
    assert "Lambda" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 not really a zip", b"<html>quota</html>"])
def test_a_model_file_that_is_not_a_model_is_refused(tmp_path, content):
    (tmp_path / "model.keras").write_bytes(content)
    with pytest.raises(InputError, match="model.keras: not a loadable .keras autoencoder"):
        load_autoencoder(tmp_path / "model.keras")

"""`import inference` is cheap: the public names are re-exported lazily, so importing the
package loads no model library (torch, transformers), no numpy or scikit-learn, and each name
still resolves to the object its submodule defines."""

from __future__ import annotations

import importlib
import subprocess
import sys

import inference

HEAVY = ("torch", "transformers", "numpy", "sklearn", "pypdf")


def test_importing_the_package_loads_no_heavy_library() -> None:
    code = ("import sys, inference; "
            f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout.split()
    assert loaded == []


def test_every_public_name_resolves_to_its_submodules_object() -> None:
    assert sorted(inference.__all__) == sorted(inference._EXPORTS)
    for name, module in inference._EXPORTS.items():
        assert getattr(inference, name) is getattr(
            importlib.import_module(f"inference.{module}"), name)
    from inference import ExtractedField, read_bytes  # the from-import form works too

    assert ExtractedField.__module__ == "inference.extraction"
    assert read_bytes.__module__ == "inference.reading"


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        inference.FieldValue  # noqa: B018  (the former name of ExtractedField)
    except AttributeError as exc:
        assert "FieldValue" in str(exc)
    else:
        raise AssertionError("inference.FieldValue should not exist")

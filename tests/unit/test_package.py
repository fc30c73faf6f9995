"""The public surface: every exported name resolves, and importing the package is cheap."""

from __future__ import annotations

import subprocess
import sys

import pytest

import pytest_ragops


@pytest.mark.parametrize("name", pytest_ragops.__all__)
def test_every_exported_name_resolves(name: str) -> None:
    assert getattr(pytest_ragops, name) is not None


def test_unknown_name_is_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        pytest_ragops.nope  # noqa: B018 - the access is the test


def test_plugin_import_loads_no_heavy_package() -> None:
    code = (
        "import sys, pytest_ragops.plugin\n"
        "heavy = ('mlflow', 'ragas', 'anthropic', 'sklearn', 'dvc', 'github', 'scipy', 'numpy',"
        " 'yaml', 'sqlalchemy', 'matplotlib', 'openfeature')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

"""Where a run's ``[tool.ragops]`` lives; standard library only, as the off path reads it too."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

__all__ = ["pyproject_path"]


def pyproject_path(config: pytest.Config) -> Path:
    """The pyproject.toml pytest read its configuration from, else the rootdir's."""
    if config.inipath is not None and config.inipath.name == "pyproject.toml":
        return config.inipath
    return config.rootpath / "pyproject.toml"

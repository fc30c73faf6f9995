"""Tracking options: URI resolution, switches, the UI command."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pytest_ragops.errors import RagopsUsageError
from pytest_ragops.tracking.options import (
    TrackingOptions,
    default_store,
    parse_switch,
    resolve_uri,
    ui_command,
)

if TYPE_CHECKING:
    from pathlib import Path


def test_uri_off_env_and_local_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert resolve_uri("off", tmp_path) is None
    assert resolve_uri("OFF", tmp_path) is None
    assert resolve_uri(None, tmp_path) == f"sqlite:///{tmp_path.resolve()}/.ragops/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    assert resolve_uri(None, tmp_path) == "http://127.0.0.1:5000"
    assert resolve_uri("sqlite:///other.db", tmp_path) == "sqlite:///other.db"
    with pytest.raises(RagopsUsageError, match="--ragops-mlflow: must be a tracking URI or 'off'"):
        resolve_uri(" ", tmp_path)


def test_switch_values() -> None:
    assert parse_switch("on", "x") is True
    assert parse_switch(False, "x") is False
    with pytest.raises(
        RagopsUsageError, match=r"^--ragops-mlflow-traces: must be on or off, got 'maybe'$"
    ):
        parse_switch("maybe", "--ragops-mlflow-traces")


def test_ui_command_opens_the_local_store(tmp_path: Path) -> None:
    uri = default_store(tmp_path)
    assert ui_command(uri) == f"mlflow ui --backend-store-uri {uri}"
    assert ui_command("http://127.0.0.1:5000") is None


def test_spool_defaults_under_the_root(tmp_path: Path) -> None:
    assert TrackingOptions(uri="x", root=tmp_path).spool == tmp_path / ".ragops" / "spool"

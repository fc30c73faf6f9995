"""log_session and ragops sync: a failed upload spools, a later sync uploads once."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any

import pytest

from pytest_ragops.cli import main
from pytest_ragops.tracking.options import TrackingOptions
from pytest_ragops.tracking.session import log_session

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


# MLflow, SQLAlchemy and pandas deprecations inside MLflow's own calls are not ours to fix.
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
]


def _dead_uri() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def test_down_server_spools_with_one_warning_line_and_sync_uploads_once(
    store_uri: str, report_factory: Callable[..., dict[str, Any]], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    from mlflow import MlflowClient

    dead = _dead_uri()
    report = report_factory({"a": [1.0, 0.5], "b": [0.5, 0.5]})
    result = log_session(report, TrackingOptions(uri=dead, root=tmp_path))
    assert result.logged is False
    assert result.spooled is not None
    assert result.spooled.parent == tmp_path / ".ragops" / "spool"
    assert result.warning is not None
    assert "\n" not in result.warning
    assert result.warning.startswith(f"ragops mlflow: NOT logged to {dead} (")
    assert result.warning.endswith(
        f"session run with 2 variant runs, 4 traces; spooled to {result.spooled}, "
        "upload later with `ragops sync`"
    )

    spool = str(tmp_path / ".ragops" / "spool")
    assert main(["sync", "--spool", spool, "--mlflow", dead]) == 1  # still down: kept
    assert result.spooled.exists()
    capsys.readouterr()
    assert main(["sync", "--spool", spool, "--mlflow", store_uri]) == 0
    out = capsys.readouterr().out
    assert f"uploaded {result.spooled.name}: run " in out
    assert "1 of 1 spooled runs in the store" in out
    assert not result.spooled.exists()
    assert main(["sync", "--spool", spool, "--mlflow", store_uri]) == 0
    assert capsys.readouterr().out == f"nothing to sync in {spool}\n"

    # The same payload spooled twice (say, copied) is still logged once.
    again = log_session(report, TrackingOptions(uri=dead, root=tmp_path))
    assert again.spooled is not None
    assert main(["sync", "--spool", spool, "--mlflow", store_uri]) == 0
    assert "already logged" in capsys.readouterr().out
    client = MlflowClient(tracking_uri=store_uri)
    exp = client.get_experiment_by_name("ragops")
    assert exp is not None
    runs = client.search_runs([exp.experiment_id], "tags.`ragops.role` = 'session'")
    assert len(runs) == 1
    assert len(client.search_runs([exp.experiment_id], "tags.`ragops.role` = 'variant'")) == 2


def test_a_corrupt_spool_file_is_named_and_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    bad = spool / "x.json"
    bad.write_text("{", encoding="utf-8")
    assert main(["sync", "--spool", str(spool)]) == 1
    out = capsys.readouterr().out
    assert f"FAILED {bad}: {bad}: invalid JSON at line 1: " in out
    assert bad.exists()


def test_logging_off_does_nothing(
    report_factory: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    result = log_session(report_factory({"a": [1.0]}), TrackingOptions(uri=None, root=tmp_path))
    assert result.logged is False
    assert result.warning is None
    assert not (tmp_path / ".ragops").exists()

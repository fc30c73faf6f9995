"""mlflow: baselines: the newest complete session run of a branch gives its report."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from pytest_ragops.errors import RagopsError
from pytest_ragops.tracking.baseline import load_mlflow_baseline, parse_spec
from pytest_ragops.tracking.options import TrackingOptions
from pytest_ragops.tracking.payload import build_payload
from pytest_ragops.tracking.upload import upload_payload

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


# MLflow, SQLAlchemy and pandas deprecations inside MLflow's own calls are not ours to fix.
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
]


def test_specs() -> None:
    assert parse_spec("mlflow:branch=main") == ("branch", "main")
    assert parse_spec("mlflow:run=abc") == ("run", "abc")
    with pytest.raises(RagopsError, match="expected mlflow:branch=NAME or mlflow:run=RUN_ID"):
        parse_spec("mlflow:main")


def test_latest_run_of_the_branch_is_the_baseline(
    store_uri: str, report_factory: Callable[..., dict[str, Any]], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("GITHUB_REF_NAME", "main")  # tmp_path is no git checkout
    options = TrackingOptions(uri=store_uri, root=tmp_path, traces=False)
    old = report_factory({"a": [0.5]}, tag="[old]")
    new = report_factory({"a": [0.75]}, tag="[new]")
    upload_payload(build_payload(old, None, options), store_uri)
    logged = upload_payload(build_payload(new, None, options), store_uri)

    baseline = load_mlflow_baseline("mlflow:branch=main", store_uri, "ragops")
    assert baseline["metrics"]["faithfulness_mean"] == 0.75
    assert baseline["run"]["mlflow_run_id"] == logged.session_run_id
    assert baseline["records"] == new["records"]
    by_run = load_mlflow_baseline(f"mlflow:run={logged.session_run_id}", store_uri, "ragops")
    assert by_run["created"] == new["created"]
    with pytest.raises(RagopsError, match="no logged run of branch 'dev' in sqlite:///"):
        load_mlflow_baseline("mlflow:branch=dev", store_uri, "ragops")
    with pytest.raises(RagopsError, match="no experiment named 'nope'"):
        load_mlflow_baseline("mlflow:branch=main", store_uri, "nope")

"""``baseline: auto``: the report artifact of the base branch's last successful run.

Runs and artifacts are listed with PyGithub. The archive itself is fetched with the
standard library: GitHub answers ``archive_download_url`` with a redirect to blob storage
on another domain, which PyGithub's downloader refuses (it only follows GitHub's own
hosts), and the token must not travel to that host, so it is sent as an unredirected
header. Nothing found is not an error: the caller says so and runs without deltas.
"""

from __future__ import annotations

import io
import urllib.request
import zipfile
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pytest_ragops.errors import RagopsError
from pytest_ragops.github.client import api_error

if TYPE_CHECKING:
    from pathlib import Path

    from github import Github

__all__ = ["BaselineResult", "fetch_baseline"]

#: How many of the branch's latest successful runs are searched for the artifact.
MAX_RUNS = 10
#: A report larger than this is not a report.
MAX_ARCHIVE_BYTES = 50 * 1024 * 1024
REPORT_NAME = "report.json"


@dataclass(frozen=True, slots=True)
class BaselineResult:
    """The saved baseline (None when there is none) and the one line that says what happened."""

    path: Path | None
    message: str


def _workflow_file(workflow_ref: str) -> str | None:
    """``owner/repo/.github/workflows/ai-ci.yml@refs/...`` → ``ai-ci.yml``."""
    path = workflow_ref.split("@", 1)[0]
    name = path.rsplit("/", 1)[-1]
    return name if name.endswith((".yml", ".yaml")) else None


def fetch_baseline(
    gh: Github,
    repo: str,
    branch: str,
    artifact: str,
    dest: Path,
    *,
    token: str,
    workflow_ref: str = "",
) -> BaselineResult:
    """Download ``artifact``'s report.json from ``branch``'s newest successful run into ``dest``.

    Searches runs of the same workflow when ``workflow_ref`` (``GITHUB_WORKFLOW_REF``) names
    it, else every workflow, newest first, at most :data:`MAX_RUNS`.
    """
    from github import GithubException

    try:
        repository = gh.get_repo(repo)
        workflow = _workflow_file(workflow_ref)
        if workflow:
            runs = repository.get_workflow(workflow).get_runs(
                branch=branch, status="success", exclude_pull_requests=True
            )
        else:
            runs = repository.get_workflow_runs(
                branch=branch,  # type: ignore[arg-type]  # PyGithub accepts a name too status="success", exclude_pull_requests=True
            )
        for n, run in enumerate(runs):
            if n >= MAX_RUNS:
                break
            for art in run.get_artifacts():
                if art.name == artifact and not art.expired:
                    data = _download(art.archive_download_url, token)
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    dest.write_bytes(_extract_report(data, artifact))
                    return BaselineResult(
                        dest,
                        f"baseline: {artifact} of run {run.id} on {branch} ({run.head_sha[:12]})",
                    )
    except GithubException as exc:
        if exc.status in (403, 404):
            # No actions: read permission, or no such workflow: no deltas, not a failed run.
            return BaselineResult(
                None, f"baseline: not available ({api_error(exc, 'listing runs')})"
            )
        raise api_error(exc, f"listing runs of {repo}") from None
    scope = f"workflow {workflow}" if workflow else "any workflow"
    return BaselineResult(
        None,
        f"baseline: no {artifact!r} artifact in the last {MAX_RUNS} successful runs of "
        f"{scope} on {branch}: running without deltas",
    )


def _download(url: str, token: str) -> bytes:
    """GET the archive; the token is an unredirected header, so blob storage never sees it."""
    request = urllib.request.Request(url, headers={"Accept": "application/vnd.github+json"})
    request.add_unredirected_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            data: bytes = response.read(MAX_ARCHIVE_BYTES + 1)
    except OSError as exc:
        raise RagopsError(f"downloading the baseline artifact failed: {exc}", path=url) from None
    if len(data) > MAX_ARCHIVE_BYTES:
        raise RagopsError(f"artifact larger than {MAX_ARCHIVE_BYTES} bytes", path=url)
    return data


def _extract_report(data: bytes, artifact: str) -> bytes:
    """The report.json inside the artifact zip (at any depth, the shallowest wins)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = sorted(
                (n for n in archive.namelist() if n.rsplit("/", 1)[-1] == REPORT_NAME),
                key=lambda n: (n.count("/"), n),
            )
            if not names:
                raise RagopsError(f"no {REPORT_NAME} in the artifact", path=artifact)
            return archive.read(names[0])
    except zipfile.BadZipFile:
        raise RagopsError("the artifact is not a zip archive", path=artifact) from None

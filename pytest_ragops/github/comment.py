"""The sticky PR comment: find ours by marker and author, update it or create it, fit the limit.

One comment per PR, found by the hidden :data:`~pytest_ragops.report.markdown.MARKER` on
its first line **and** its author being the token's identity, so a human who quotes the
marker (or another bot's comment) is never overwritten. A body over GitHub's limit is
trimmed keeping the verdict, the gate table and the marker, with a pointer to the full
report. A read-only token (fork PRs) is not an error: the body goes to the job summary and
to files a ``workflow_run`` follow-up job posts from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pytest_ragops.github.client import api_error, token_login
from pytest_ragops.report.markdown import MARKER, MAX_BODY

if TYPE_CHECKING:
    from github import Github
    from github.Issue import Issue
    from github.IssueComment import IssueComment

__all__ = ["CommentResult", "find_ours", "trim_body", "upsert_comment", "write_deferred"]

#: Smallest body a 422 retry goes down to; below this the comment would say nothing.
_MIN_BODY = 4_000
_MAX_422_RETRIES = 3
#: GitHub's 422 says "body is too long (maximum is 65536 characters)".
_LIMIT = re.compile(r"maximum is (\d+) characters")


@dataclass(frozen=True, slots=True)
class CommentResult:
    """What the upsert did: ``created``, ``updated`` or ``deferred`` (read-only token)."""

    action: Literal["created", "updated", "deferred"]
    url: str | None = None
    #: Characters posted; less than the body's when it was trimmed.
    size: int = 0
    trimmed: bool = False
    reason: str | None = None


def ensure_marker(body: str) -> str:
    """The body with the marker as its first line (added when a custom body lacks it)."""
    return body if body.split("\n", 1)[0].strip() == MARKER else f"{MARKER}\n{body}"


def _head_end(lines: list[str]) -> int:
    """Index just past the verdict heading and the gate table right under it."""
    verdict = next((i for i, line in enumerate(lines) if line.startswith("### ")), 0)
    window = range(verdict + 1, min(len(lines), verdict + 6))
    start = next((i for i in window if lines[i].startswith("| | gate |")), None)
    if start is None:
        return verdict + 1
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return end


def trim_body(body: str, limit: int = MAX_BODY, where: str = "the run's ragops report") -> str:
    """Fit ``body`` in ``limit`` characters: marker, verdict and gate table first, then what fits.

    Cuts at line ends only (a cut inside a code span would let the rest mention people), closes
    an open ``<details>``, and ends with a line saying where the full report is.
    """
    body = ensure_marker(body)
    if len(body) <= limit:
        return body
    note = f"\n\n… trimmed to fit GitHub's comment limit; the full report is in {where}.\n"
    # Room for the note, a closing </details> and a "rows trimmed" line in a long gate table.
    budget = limit - len(note) - len("\n\n</details>") - 60
    lines = body.split("\n")
    head_end = _head_end(lines)
    kept: list[str] = []
    size = 0
    for i, line in enumerate(lines):
        if size + len(line) + 1 > budget:
            if i < head_end and i > 0:
                # The gate table itself is too long: keep its header and as many rows as fit.
                kept.append(f"| … | {head_end - i} more gate rows trimmed | | | | |")
            break
        kept.append(line)
        size += len(line) + 1
    opened = sum(line.startswith("<details>") for line in kept)
    closed = sum(line.strip() == "</details>" for line in kept)
    tail = ["", "</details>"] if opened > closed else []
    return "\n".join([*kept, *tail]).rstrip("\n") + note


def find_ours(issue: Issue, login: str) -> IssueComment | None:
    """The oldest comment by ``login`` whose first line is the marker (all pages are read)."""
    for comment in issue.get_comments():
        first = (comment.body or "").split("\n", 1)[0].strip()
        if first == MARKER and comment.user is not None and comment.user.login == login:
            return comment
    return None


class ReadOnlyToken(Exception):
    """The token may read but not write comments (fork PR, or missing ``pull-requests: write``)."""


def upsert_comment(
    gh: Github, repo: str, pr: int, body: str, *, where: str, head_sha: str | None = None
) -> CommentResult:
    """Update our comment on ``repo``#``pr`` or create it; trim and retry on a 422 for size.

    :raises ReadOnlyToken: on a 403 (the caller defers the comment).
    :raises RagopsError: on any other API failure, as one line.
    """
    from github import GithubException

    try:
        repository = gh.get_repo(repo)
        if head_sha:
            _check_head(repository.get_pull(pr).head.sha, head_sha, pr)
        issue = repository.get_issue(pr)
        login = token_login(gh)
        existing = find_ours(issue, login)
    except GithubException as exc:
        if exc.status == 403:
            raise ReadOnlyToken(f"reading PR #{pr} was refused (HTTP 403)") from None
        raise api_error(exc, f"reading comments of {repo}#{pr}") from None
    text = trim_body(body, MAX_BODY, where)
    for attempt in range(_MAX_422_RETRIES + 1):
        try:
            if existing is not None:
                existing.edit(text)
                url, action = existing.html_url, "updated"
            else:
                created = issue.create_comment(text)
                url, action = created.html_url, "created"
        except GithubException as exc:
            if exc.status == 403:
                raise ReadOnlyToken(f"writing to PR #{pr} was refused (HTTP 403)") from None
            smaller = _smaller_limit(exc.data, len(text))
            if exc.status == 422 and attempt < _MAX_422_RETRIES and smaller >= _MIN_BODY:
                text = trim_body(body, smaller, where)
                continue
            raise api_error(exc, f"posting the comment on {repo}#{pr}") from None
        return CommentResult(
            action,  # type: ignore[arg-type]
            url,
            len(text),
            len(text) < len(ensure_marker(body)),
        )
    raise AssertionError("unreachable")  # pragma: no cover


def _smaller_limit(data: object, size: int) -> int:
    """The size to retry a 422 with: under the limit GitHub names, else half the last try."""
    match = _LIMIT.search(str(data))
    if match is not None and int(match.group(1)) < size:
        return int(int(match.group(1)) * 0.95)
    return size // 2


def _check_head(actual: str, expected: str, pr: int) -> None:
    from pytest_ragops.errors import RagopsError

    if actual != expected:
        raise RagopsError(
            f"PR #{pr} head is {actual[:12]}, not {expected[:12]}: refusing to comment "
            "(a newer push, or a PR number that does not belong to this run)",
            path="--head-sha",
        )


def write_deferred(directory: Path, body: str, pr: int, head_sha: str | None) -> Path:
    """Save what a ``workflow_run`` follow-up needs to post the comment; return the body file."""
    from pytest_ragops.report.model import write_text_atomic

    body_file = directory / "body.md"
    write_text_atomic(ensure_marker(body), body_file)
    write_text_atomic(f"{pr}\n", directory / "pr-number")
    if head_sha:
        write_text_atomic(f"{head_sha}\n", directory / "head-sha")
    return body_file

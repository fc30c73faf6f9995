"""``ragops comment``: upsert the one sticky PR comment from the Markdown report.

Defaults come from the Actions environment (``GITHUB_TOKEN``, ``GITHUB_REPOSITORY``, the PR
in ``GITHUB_EVENT_PATH``, ``GITHUB_API_URL``, ``GITHUB_STEP_SUMMARY``). No PR (push,
workflow_dispatch) is not an error: one line, exit 0. A read-only token (fork PR) writes the
body to the job summary and to ``--deferred-dir`` for a ``workflow_run`` follow-up, exit 0.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_ragops.errors import RagopsError

if TYPE_CHECKING:
    from pytest_ragops.github.env import ActionsEnv

    SubParsers = argparse._SubParsersAction[argparse.ArgumentParser]

__all__ = ["register", "run_comment"]

_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


def register(subparsers: SubParsers) -> None:
    """Add ``ragops comment``."""
    parser = subparsers.add_parser(
        "comment",
        help="Create or update the sticky PR comment from the Markdown report",
        description="Create or update the one PR comment carrying the ragops report, found by "
        "its hidden marker and its author (the token's user, else github-actions[bot]). "
        "The token is read from GITHUB_TOKEN, never from the command line. On a fork PR "
        "(read-only token) the body is written to the job summary and --deferred-dir, exit 0.",
    )
    parser.add_argument(
        "--body-file",
        type=Path,
        default=Path(".ragops/report.md"),
        metavar="PATH",
        help="Markdown body (default: .ragops/report.md)",
    )
    parser.add_argument(
        "--repo", metavar="OWNER/NAME", help="Repository (default: $GITHUB_REPOSITORY)"
    )
    parser.add_argument(
        "--pr", type=int, metavar="N", help="PR number (default: the PR in $GITHUB_EVENT_PATH)"
    )
    parser.add_argument(
        "--head-sha",
        metavar="SHA",
        help="Refuse to comment unless the PR's head is this commit (workflow_run follow-ups)",
    )
    parser.add_argument(
        "--deferred-dir",
        type=Path,
        default=Path(".ragops/pr-comment"),
        metavar="PATH",
        help="Where a read-only token's body, PR number and head SHA are saved "
        "(default: .ragops/pr-comment)",
    )
    parser.set_defaults(handler=_comment)


def _comment(args: argparse.Namespace) -> int:
    from pytest_ragops.github.env import ActionsEnv

    return run_comment(
        ActionsEnv.current(),
        body_file=args.body_file,
        repo=args.repo,
        pr=args.pr,
        head_sha=args.head_sha,
        deferred_dir=args.deferred_dir,
    )


def run_comment(
    actions: ActionsEnv,
    *,
    body_file: Path,
    repo: str | None = None,
    pr: int | None = None,
    head_sha: str | None = None,
    deferred_dir: Path = Path(".ragops/pr-comment"),
) -> int:
    """Do what ``ragops comment`` does; returns the exit status (errors raise RagopsError)."""
    repo = repo or actions.repository
    if not repo:
        raise RagopsError("no repository: pass --repo OWNER/NAME or set GITHUB_REPOSITORY")
    if not _REPO.match(repo):
        raise RagopsError(f"expected OWNER/NAME, got {repo!r}", path="--repo")
    number = pr if pr is not None else actions.pr_number()
    if number is None:
        event = actions.event_name or "local"
        print(f"ragops comment: no pull request for this {event} event: nothing to comment on")
        actions.set_output("comment", "skipped")
        return 0
    if number < 1:
        raise RagopsError(f"must be a PR number >= 1, got {number}", path="--pr")
    try:
        body = body_file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RagopsError("body file not found (did the eval run?)", path=str(body_file)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RagopsError(
            f"cannot read body ({exc.__class__.__name__})", path=str(body_file)
        ) from None
    if not body.strip():
        raise RagopsError("body file is empty", path=str(body_file))
    # Checked only when given (follow-up jobs); the event's head is saved for them when deferring.
    saved_sha = head_sha or _event_head_sha(actions)

    from pytest_ragops.github.client import make_client
    from pytest_ragops.github.comment import ReadOnlyToken, upsert_comment, write_deferred

    run_url = actions.run_url()
    where = f"the artifacts of [this run]({run_url})" if run_url else f"`{body_file}`"
    gh = make_client(actions.get("GITHUB_TOKEN"), actions.api_url)
    try:
        result = upsert_comment(gh, repo, number, body, where=where, head_sha=head_sha)
    except ReadOnlyToken as exc:
        saved = write_deferred(deferred_dir, body, number, saved_sha)
        actions.summary(body)
        actions.set_output("comment", "deferred")
        actions.set_output("deferred-dir", str(deferred_dir))
        print(
            f"ragops comment: {exc}: read-only token (fork PR?); the report is in the job "
            f"summary and {saved} for a workflow_run follow-up job"
        )
        return 0
    finally:
        gh.close()
    actions.set_output("comment", result.action)
    actions.set_output("comment-url", result.url or "")
    trimmed = f", trimmed to {result.size} characters" if result.trimmed else ""
    print(f"ragops comment: {result.action} {result.url}{trimmed}")
    return 0


def _event_head_sha(actions: ActionsEnv) -> str | None:
    pr = actions.pull_request() or {}
    sha = (pr.get("head") or {}).get("sha")
    return sha if isinstance(sha, str) and sha else None

"""Did this event change any prompt path? ``git diff`` against the right base, fail open to running.

Which commits to compare depends on the event: a pull request is diffed against its base
commit (fetched when the checkout is shallow), a push against ``before``. When the base
cannot be found or fetched, or the event has no base (``workflow_dispatch``, a new branch),
the answer is "run": skipping an eval because we could not tell would let a prompt change
through unmeasured.
"""

from __future__ import annotations

import base64
import subprocess
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from pathlib import Path

    from pytest_ragops.github.env import ActionsEnv

__all__ = ["ChangeDecision", "decide", "diff_base", "match_paths", "parse_patterns"]

_ZERO_SHA = "0" * 40


@dataclass(frozen=True, slots=True)
class ChangeDecision:
    """Whether to run the evals, and the one line that says why (job summary)."""

    run: bool
    reason: str
    matched: tuple[str, ...] = field(default=())


def parse_patterns(*texts: str) -> list[str]:
    """Split action inputs (newline- or comma-separated globs) into a clean list."""
    out: list[str] = []
    for text in texts:
        for line in text.replace(",", "\n").splitlines():
            if line.strip() and not line.strip().startswith("#"):
                out.append(line.strip())
    return out


def match_paths(patterns: Sequence[str], paths: Iterable[str]) -> list[str]:
    """Paths matching any pattern, with gitignore semantics (``prompts/**``, ``*.prompt``)."""
    import pathspec

    spec = pathspec.GitIgnoreSpec.from_lines(patterns)
    return sorted(p for p in paths if spec.match_file(p))


def _git(
    repo: Path, *args: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        check=False,
        env=None if env is None else dict(env),
    )


def _has_commit(repo: Path, sha: str) -> bool:
    return _git(repo, "cat-file", "-e", f"{sha}^{{commit}}").returncode == 0


def _fetch(repo: Path, sha: str, actions: ActionsEnv, token: str) -> bool:
    """Fetch one commit from ``origin``; the token goes in through git's env config, not argv."""
    import os

    env = dict(os.environ)
    server = actions.get("GITHUB_SERVER_URL")
    if token and server:
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        env.update(
            GIT_CONFIG_COUNT="1",
            GIT_CONFIG_KEY_0=f"http.{server.rstrip('/')}/.extraheader",
            GIT_CONFIG_VALUE_0=f"AUTHORIZATION: basic {basic}",
        )
    done = _git(repo, "fetch", "--no-tags", "--depth=1", "origin", sha, env=env)
    return done.returncode == 0


def diff_base(actions: ActionsEnv) -> tuple[str | None, str]:
    """The commit to diff HEAD against for this event, or None with the reason there is none."""
    event = actions.event()
    name = actions.event_name
    if name in ("pull_request", "pull_request_target", "merge_group"):
        pr = event.get("pull_request") or {}
        sha = (pr.get("base") or {}).get("sha") or (event.get("merge_group") or {}).get("base_sha")
        return (sha, "") if sha else (None, "the event names no base commit")
    if name == "push":
        before = event.get("before")
        if not before or before == _ZERO_SHA:
            return None, "a new branch has no previous commit to compare with"
        return before, ""
    return None, f"a {name or 'local'} run has no base to compare with"


def changed_files(repo: Path, base: str, actions: ActionsEnv, token: str) -> list[str] | str:
    """Files changed between ``base`` and HEAD, or the reason they cannot be listed.

    The diff starts at the merge base when git can find it (a checkout of the PR head), and
    at ``base`` itself otherwise (the default merge-commit checkout, whose parent it is).
    """
    if not _has_commit(repo, base) and not _fetch(repo, base, actions, token):
        return f"could not fetch base commit {base[:12]}"
    merge_base = _git(repo, "merge-base", base, "HEAD")
    start = merge_base.stdout.strip() if merge_base.returncode == 0 else base
    diff = _git(repo, "diff", "--name-only", "--no-renames", "-z", start, "HEAD")
    if diff.returncode != 0:
        return (
            f"git diff {start[:12]} HEAD failed: {(diff.stderr.strip().splitlines() or [''])[-1]}"
        )
    return [p for p in diff.stdout.split("\0") if p]


def decide(
    repo: Path, patterns: Sequence[str], actions: ActionsEnv, *, force: bool, token: str = ""
) -> ChangeDecision:
    """Run or skip, with the reason, for this event in the checkout at ``repo``."""
    if force:
        return ChangeDecision(True, "forced: evals run whatever changed")
    if not patterns:
        return ChangeDecision(True, "no prompt paths configured: evals run on every event")
    base, why = diff_base(actions)
    if base is None:
        return ChangeDecision(True, f"{why}: evals run")
    files = changed_files(repo, base, actions, token)
    if isinstance(files, str):
        return ChangeDecision(True, f"{files}: evals run to be safe")
    matched = match_paths(patterns, files)
    if not matched:
        return ChangeDecision(
            False,
            f"no changed file matches {', '.join(patterns)} "
            f"({len(files)} files changed since {base[:12]}): evals skipped",
        )
    return ChangeDecision(
        True,
        f"{len(matched)} changed files match {', '.join(patterns)}: evals run",
        tuple(matched),
    )

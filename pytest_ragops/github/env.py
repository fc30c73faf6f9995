"""The GitHub Actions environment: event payload, outputs, job summary, run URL.

Everything reads an explicit mapping (``os.environ`` by default) so the step logic is
testable with a temporary ``GITHUB_OUTPUT``, ``GITHUB_STEP_SUMMARY`` and ``GITHUB_EVENT_PATH``.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_ragops.errors import RagopsError

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["DEFAULT_API_URL", "ActionsEnv", "current_commit"]

DEFAULT_API_URL = "https://api.github.com"


@dataclass(frozen=True, slots=True)
class ActionsEnv:
    """A read-only view of the variables the runner sets for a step."""

    environ: Mapping[str, str]

    @classmethod
    def current(cls) -> ActionsEnv:
        return cls(dict(os.environ))

    def get(self, name: str) -> str:
        """The variable's value, '' when unset."""
        return self.environ.get(name, "")

    @property
    def event_name(self) -> str:
        return self.get("GITHUB_EVENT_NAME")

    @property
    def api_url(self) -> str:
        """``GITHUB_API_URL`` (GitHub Enterprise), else api.github.com."""
        return self.get("GITHUB_API_URL").rstrip("/") or DEFAULT_API_URL

    @property
    def repository(self) -> str:
        return self.get("GITHUB_REPOSITORY")

    def event(self) -> dict[str, Any]:
        """The webhook payload in ``GITHUB_EVENT_PATH`` ({} outside Actions).

        :raises RagopsError: when the file is named but unreadable or not a JSON object.
        """
        path = self.get("GITHUB_EVENT_PATH")
        if not path:
            return {}
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RagopsError(
                "event file not found", path=path, field="GITHUB_EVENT_PATH"
            ) from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RagopsError(
                f"unreadable event payload ({exc.__class__.__name__})",
                path=path,
                field="GITHUB_EVENT_PATH",
            ) from None
        if not isinstance(data, dict):
            raise RagopsError("expected a JSON object", path=path, field="GITHUB_EVENT_PATH")
        return data

    def pull_request(self) -> dict[str, Any] | None:
        """The event's pull request object; None on push, workflow_dispatch and others."""
        pr = self.event().get("pull_request")
        return pr if isinstance(pr, dict) else None

    def pr_number(self) -> int | None:
        """The PR number of a ``pull_request``/``pull_request_target`` event, else None."""
        pr = self.pull_request()
        if pr is None:
            return None
        number = pr.get("number", self.event().get("number"))
        if isinstance(number, bool) or not isinstance(number, int) or number < 1:
            return None
        return number

    def is_fork_pr(self) -> bool:
        """True when the PR's head lives in another repository (read-only token)."""
        pr = self.pull_request() or {}
        head_repo = (pr.get("head") or {}).get("repo") or {}
        full_name = head_repo.get("full_name")
        return bool(full_name) and full_name != self.repository

    def run_url(self) -> str | None:
        """This workflow run's page, where its artifacts (the full report) are listed."""
        server, repo, run = (
            self.get("GITHUB_SERVER_URL"),
            self.repository,
            self.get("GITHUB_RUN_ID"),
        )
        if not (server and repo and run):
            return None
        return f"{server.rstrip('/')}/{repo}/actions/runs/{run}"

    def set_output(self, name: str, value: str) -> None:
        """Append ``name=value`` to ``GITHUB_OUTPUT`` (heredoc form when multi-line)."""
        path = self.get("GITHUB_OUTPUT")
        if not path:
            return
        if "\n" in value:
            delim = f"ragops_{secrets.token_hex(8)}"
            text = f"{name}<<{delim}\n{value}\n{delim}\n"
        else:
            text = f"{name}={value}\n"
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(text)

    def summary(self, markdown: str) -> None:
        """Append Markdown to the job summary (``GITHUB_STEP_SUMMARY``), if there is one."""
        path = self.get("GITHUB_STEP_SUMMARY")
        if not path:
            return
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(markdown if markdown.endswith("\n") else markdown + "\n")


def current_commit(root: Path, environ: Mapping[str, str] | None = None) -> str | None:
    """The commit a run measured: ``GITHUB_SHA`` in Actions, else ``git rev-parse HEAD``.

    Recorded in every report (``run.commit``) so that ``ragops report merge`` can refuse
    shards of different commits. None outside a git checkout.
    """
    import subprocess

    env = os.environ if environ is None else environ
    if env.get("GITHUB_SHA"):
        return env["GITHUB_SHA"]
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--verify", "-q", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    sha = done.stdout.strip()
    return sha if done.returncode == 0 and sha else None

"""One place that builds the PyGithub client: ``GITHUB_API_URL`` honoured, short retries.

PyGithub is imported here, lazily, and nowhere at module level.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pytest_ragops.errors import RagopsError

if TYPE_CHECKING:
    from github import Github

__all__ = ["BOT_LOGIN", "api_error", "make_client", "token_login"]

#: Who writes comments with the workflow's ``GITHUB_TOKEN``; ``GET /user`` is 403 for it.
BOT_LOGIN = "github-actions[bot]"


def make_client(token: str, api_url: str) -> Github:
    """A client for ``api_url`` (GitHub Enterprise: ``https://HOST/api/v3``).

    Lazy, so naming a repository or issue costs no request. Retries are cut to 2 (PyGithub
    defaults to 10 with back-off, which turns an outage into minutes of a hung job); write
    pacing is off because one upsert makes at most two writes.
    """
    from github import Auth, Github

    if not token:
        raise RagopsError("no GitHub token: set GITHUB_TOKEN or the action's github-token input")
    return Github(
        auth=Auth.Token(token),
        base_url=api_url,
        timeout=30,
        retry=2,
        per_page=100,
        lazy=True,
        seconds_between_requests=None,
        seconds_between_writes=None,
    )


def token_login(gh: Github) -> str:
    """The login the token acts as; the Actions bot when ``GET /user`` is refused.

    A ``GITHUB_TOKEN`` is an installation token, which ``GET /user`` answers with 403; a
    personal or app-user token names its user.
    """
    from github import GithubException

    try:
        return str(gh.get_user().login)
    except GithubException as exc:
        if exc.status in (401, 403, 404):
            return BOT_LOGIN
        raise


def api_error(exc: Any, what: str) -> RagopsError:
    """One line for a failed API call: status and GitHub's message, never a traceback."""
    status = getattr(exc, "status", None)
    data = getattr(exc, "data", None)
    message = data.get("message") if isinstance(data, dict) else None
    return RagopsError(f"{what} failed: HTTP {status}: {message or exc}", path="GitHub API")

"""Fixtures for the GitHub tests: a small GitHub REST server on loopback.

It speaks the endpoints ``ragops comment`` and the baseline download use.

Stateful (comments persist between requests), paginated with ``Link`` headers like GitHub,
served under ``/api/v3`` as GitHub Enterprise is, so ``GITHUB_API_URL`` handling is exercised.
Behaviour switches model what the real API does: a read-only token (fork PR) gets 403 on
writes, ``GET /user`` is 403 for the Actions bot token, bodies over ``max_body`` get 422.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest
from werkzeug.wrappers import Request, Response

if TYPE_CHECKING:
    from pytest_httpserver import HTTPServer

PREFIX = "/api/v3"
BOT = "github-actions[bot]"


@dataclass
class FakeGitHub:
    """State and routing; :meth:`install` puts it behind a pytest-httpserver."""

    base: str = ""
    repo: str = "acme/app"
    #: token → login; None means an installation token (GET /user answers 403).
    tokens: dict[str, str | None] = field(
        default_factory=lambda: {"bot-token": None, "pat-token": "alice"}
    )
    #: Tokens that may read but not write (fork PRs).
    readonly: set[str] = field(default_factory=set)
    #: A comment body longer than this is answered with 422, as GitHub does past 65,536.
    max_body: int = 65_536
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: Workflow runs, newest first: {id, head_branch, head_sha, workflow, artifacts: [...]}.
    runs: list[dict[str, Any]] = field(default_factory=list)
    blobs: dict[int, bytes] = field(default_factory=dict)
    log: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    _next_id: int = 1000

    def install(self, server: HTTPServer) -> None:
        self.base = server.url_for(PREFIX).rstrip("/")
        server.expect_request(re.compile(".*")).respond_with_handler(self.handle)

    @property
    def api_url(self) -> str:
        return self.base

    # -- helpers -------------------------------------------------------------------
    def add_comment(self, pr: int, body: str, login: str) -> dict[str, Any]:
        self._next_id += 1
        cid = self._next_id
        comment = {
            "id": cid,
            "body": body,
            "user": {"login": login, "id": 1, "type": "User"},
            "url": f"{self.base}/repos/{self.repo}/issues/comments/{cid}",
            "html_url": f"https://github.example/{self.repo}/pull/{pr}#issuecomment-{cid}",
        }
        self.comments.setdefault(pr, []).append(comment)
        return comment

    def add_run(self, branch: str, sha: str, workflow: str, artifacts: dict[str, bytes]) -> int:
        run_id = 500 + len(self.runs)
        arts = []
        for name, data in artifacts.items():
            art_id = 9000 + len(self.blobs)
            self.blobs[art_id] = data
            arts.append(
                {
                    "id": art_id,
                    "name": name,
                    "expired": False,
                    "size_in_bytes": len(data),
                    "archive_download_url": (
                        f"{self.base}/repos/{self.repo}/actions/artifacts/{art_id}/zip"
                    ),
                }
            )
        self.runs.insert(
            0,
            {
                "id": run_id,
                "head_branch": branch,
                "head_sha": sha,
                "workflow": workflow,
                "artifacts": arts,
                "status": "completed",
                "conclusion": "success",
            },
        )
        return run_id

    @staticmethod
    def zip_of(files: dict[str, bytes]) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            for name, data in files.items():
                zf.writestr(name, data)
        return buf.getvalue()

    def requests(self, method: str, pattern: str) -> list[tuple[str, str, dict[str, str]]]:
        return [r for r in self.log if r[0] == method and re.search(pattern, r[1])]

    # -- routing -------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        path = request.path
        query = request.query_string.decode()
        self.log.append(
            (request.method, request.path + (f"?{query}" if query else ""), dict(request.headers))
        )
        if path.startswith("/blob/"):
            if "Authorization" in request.headers:
                return _json({"message": "token leaked to blob storage"}, 400)
            return Response(self.blobs[int(path.rsplit("/", 1)[-1])], 200)
        if not path.startswith(PREFIX):
            return _json({"message": "Not Found"}, 404)
        path = path[len(PREFIX) :]
        token = (
            request.headers.get("Authorization", "").removeprefix("token ").removeprefix("Bearer ")
        )
        if token not in self.tokens:
            return _json({"message": "Bad credentials"}, 401)
        repo = re.escape(self.repo)
        routes: list[tuple[str, str, Any]] = [
            ("GET", r"/user", self._user),
            ("GET", rf"/repos/{repo}/issues/(\d+)/comments", self._list_comments),
            ("POST", rf"/repos/{repo}/issues/(\d+)/comments", self._create_comment),
            ("PATCH", rf"/repos/{repo}/issues/comments/(\d+)", self._edit_comment),
            ("GET", rf"/repos/{repo}/pulls/(\d+)", self._pull),
            ("GET", rf"/repos/{repo}/actions/workflows/([^/]+)", self._workflow),
            ("GET", rf"/repos/{repo}/actions/workflows/([^/]+)/runs", self._runs),
            ("GET", rf"/repos/{repo}/actions/runs", self._runs),
            ("GET", rf"/repos/{repo}/actions/runs/(\d+)/artifacts", self._artifacts),
            ("GET", rf"/repos/{repo}/actions/artifacts/(\d+)/zip", self._download),
        ]
        for method, pattern, fn in routes:
            m = re.fullmatch(pattern, path)
            if m and request.method == method:
                response: Response = fn(request, token, *m.groups())
                return response
        return _json({"message": "Not Found"}, 404)

    def _page(self, request: Request, items: list[Any], key: str | None) -> Response:
        per_page = int(request.args.get("per_page", 30))
        page = int(request.args.get("page", 1))
        chunk = items[(page - 1) * per_page : page * per_page]
        body: Any = chunk if key is None else {"total_count": len(items), key: chunk}
        response = _json(body)
        if page * per_page < len(items):
            args = {k: v for k, v in request.args.items() if k != "page"}
            query = "&".join(f"{k}={v}" for k, v in {**args, "page": page + 1}.items())
            response.headers["Link"] = (
                f'<{self.base}{request.path[len(PREFIX) :]}?{query}>; rel="next"'
            )
        return response

    def _user(self, request: Request, token: str) -> Response:
        login = self.tokens[token]
        if login is None:
            return _json({"message": "Resource not accessible by integration"}, 403)
        return _json({"login": login, "id": 7, "type": "User", "url": f"{self.base}/users/{login}"})

    def _list_comments(self, request: Request, token: str, pr: str) -> Response:
        return self._page(request, self.comments.get(int(pr), []), None)

    def _write_check(self, token: str, body: object) -> Response | None:
        if token in self.readonly:
            return _json({"message": "Resource not accessible by integration"}, 403)
        if not isinstance(body, str) or len(body) > self.max_body:
            return _json(
                {
                    "message": "Validation Failed",
                    "errors": [
                        {
                            "resource": "IssueComment",
                            "code": "custom",
                            "field": "body",
                            "message": f"body is too long (maximum is {self.max_body} characters)",
                        }
                    ],
                },
                422,
            )
        return None

    def _create_comment(self, request: Request, token: str, pr: str) -> Response:
        body = (request.get_json(silent=True) or {}).get("body")
        if (refused := self._write_check(token, body)) is not None:
            return refused
        return _json(self.add_comment(int(pr), str(body), self.tokens[token] or BOT), 201)

    def _edit_comment(self, request: Request, token: str, cid: str) -> Response:
        body = (request.get_json(silent=True) or {}).get("body")
        if (refused := self._write_check(token, body)) is not None:
            return refused
        for comments in self.comments.values():
            for c in comments:
                if c["id"] == int(cid):
                    c["body"] = body
                    return _json(c)
        return _json({"message": "Not Found"}, 404)

    def _pull(self, request: Request, token: str, pr: str) -> Response:
        data = self.pulls.get(int(pr))
        if data is None:
            return _json({"message": "Not Found"}, 404)
        return _json({"number": int(pr), **data})

    def _workflow(self, request: Request, token: str, name: str) -> Response:
        if not any(r["workflow"] == name for r in self.runs):
            return _json({"message": "Not Found"}, 404)
        return _json(
            {
                "id": 77,
                "name": name,
                "path": f".github/workflows/{name}",
                "url": f"{self.base}/repos/{self.repo}/actions/workflows/{name}",
            }
        )

    def _runs(self, request: Request, token: str, workflow: str | None = None) -> Response:
        if workflow is not None and not any(r["workflow"] == workflow for r in self.runs):
            return _json({"message": "Not Found"}, 404)
        branch = request.args.get("branch")
        status = request.args.get("status")
        runs = [
            {
                "id": r["id"],
                "head_branch": r["head_branch"],
                "head_sha": r["head_sha"],
                "status": r["status"],
                "conclusion": r["conclusion"],
                "url": f"{self.base}/repos/{self.repo}/actions/runs/{r['id']}",
                "artifacts_url": f"{self.base}/repos/{self.repo}/actions/runs/{r['id']}/artifacts",
            }
            for r in self.runs
            if (workflow is None or r["workflow"] == workflow)
            and (branch is None or r["head_branch"] == branch)
            and (status != "success" or r["conclusion"] == "success")
        ]
        return self._page(request, runs, "workflow_runs")

    def _artifacts(self, request: Request, token: str, run_id: str) -> Response:
        run = next((r for r in self.runs if r["id"] == int(run_id)), None)
        return self._page(request, [] if run is None else run["artifacts"], "artifacts")

    def _download(self, request: Request, token: str, art_id: str) -> Response:
        # GitHub redirects to blob storage on another host; the other loopback name stands in.
        base = self.base.removesuffix(PREFIX)
        other = (
            base.replace("localhost", "127.0.0.1")
            if "localhost" in base
            else base.replace("127.0.0.1", "localhost")
        )
        response = Response("", 302)
        response.headers["Location"] = f"{other}/blob/{art_id}"
        return response


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data), status, content_type="application/json")


@pytest.fixture
def github(httpserver: HTTPServer) -> FakeGitHub:
    """A fresh fake GitHub per test, served under /api/v3 of the loopback test server."""
    fake = FakeGitHub()
    fake.install(httpserver)
    return fake

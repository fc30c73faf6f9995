"""The example app's Claude generator, via the real anthropic client, against a local server.

pytest-httpserver plays the Anthropic Messages API (``POST /v1/messages``), so the
test checks what the app really sends (model, max_tokens, system, the retrieved
context; no sampling parameters, which anthropic 2.x rejects) and what it makes of the
documented response shape: answer text, token usage and a cost from the price table.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from types import ModuleType

    from pytest_httpserver import HTTPServer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def message(text: str, model: str, input_tokens: int, output_tokens: int) -> dict[str, Any]:
    """A Messages API response body, as documented."""
    return {
        "id": "msg_01TestTestTestTestTestTest",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
    }


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, httpserver: HTTPServer) -> ModuleType:
    """ragapp.app with the Claude generator switched on and pointed at ``httpserver``."""
    monkeypatch.syspath_prepend(str(EXAMPLES))
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", httpserver.url_for("/").rstrip("/"))
    for name in ("RAGAPP_GENERATOR", "RAGAPP_INDEX", "RAGAPP_PROMPTS_DIR"):
        monkeypatch.delenv(name, raising=False)
    return importlib.import_module("ragapp.app")


def sent(httpserver: HTTPServer) -> tuple[dict[str, Any], str | None]:
    """The JSON body and API key of the one request the server received."""
    assert len(httpserver.log) == 1
    request, _ = httpserver.log[0]
    body: dict[str, Any] = json.loads(request.get_data(as_text=True))
    # Depending on the client version the key travels as x-api-key or as a bearer token.
    bearer = str(request.headers.get("authorization", "")).removeprefix("Bearer ")
    api_key: str | None = request.headers.get("x-api-key") or bearer or None
    return body, api_key


def test_answer_calls_claude_with_the_retrieved_context(
    app: ModuleType, httpserver: HTTPServer
) -> None:
    httpserver.expect_oneshot_request("/v1/messages", method="POST").respond_with_json(
        message("A checkpoint runs every 5 minutes.", "claude-haiku-4-5-20251001", 1200, 80)
    )
    question = "What is the default checkpoint_timeout?"
    out = app.answer({"question": question}, "baseline")

    body, api_key = sent(httpserver)
    prompt = app.load_variant("baseline")
    assert sorted(body) == ["max_tokens", "messages", "model", "system"]
    assert body["model"] == "claude-haiku-4-5"
    assert body["max_tokens"] == 400
    assert body["system"] == prompt.system
    assert api_key == "test"
    [user] = body["messages"]
    assert user["role"] == "user"
    assert f"Question: {question}" in user["content"]
    assert out["contexts"]
    for n, context in enumerate(out["contexts"], start=1):
        assert f"[{n}] {context}" in user["content"]
    assert any("checkpoint_timeout" in c for c in out["contexts"])

    assert out["answer"] == "A checkpoint runs every 5 minutes."
    assert out["model"] == "claude-haiku-4-5-20251001"
    assert out["usage"] == {"input_tokens": 1200, "output_tokens": 80}
    assert out["cost_usd"] == pytest.approx((1200 * 1.0 + 80 * 5.0) / 1_000_000)
    assert 0.0 < out["retrieval_score"] <= 1.0
    httpserver.check_assertions()


def test_unknown_model_price_fails_closed(app: ModuleType, httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/v1/messages", method="POST").respond_with_json(
        message("Use SKIP LOCKED.", "claude-future-9", 900, 20)
    )
    out = app.answer({"question": "How do queue workers avoid waiting?"}, "wide_context")

    body, _ = sent(httpserver)
    assert body["max_tokens"] == 800
    assert "Quote the most relevant passage" in body["messages"][0]["content"]
    assert out["usage"] == {"input_tokens": 900, "output_tokens": 20}
    assert out["cost_usd"] is None  # never 0: an unknown price must fail cost gates
    assert out["model"] == "claude-future-9"


def test_offline_switch_wins_over_the_api_key(
    app: ModuleType, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAGAPP_GENERATOR", "offline")
    out = app.answer({"question": "What is the default checkpoint_timeout?"}, "concise")
    assert out["model"] == "offline:extractive"
    assert out["cost_usd"] is not None  # estimated tokens priced on the variant's model
    assert httpserver.log == []


def test_api_error_propagates(app: ModuleType, httpserver: HTTPServer) -> None:
    """A rejected request surfaces as the client's error, so ragops records a failed case."""
    import anthropic

    httpserver.expect_oneshot_request("/v1/messages", method="POST").respond_with_json(
        {"type": "error", "error": {"type": "invalid_request_error", "message": "bad model"}},
        status=400,
    )
    with pytest.raises(anthropic.BadRequestError, match="bad model"):
        app.answer({"question": "What is the default checkpoint_timeout?"}, "concise")

"""A small Anthropic Messages API on loopback that judges by word overlap.

``POST /v1/messages`` answers with the documented message shape (``content``,
``stop_reason``, ``usage``). The verdicts depend on the request, never on the test: the
server reads the JSON input from the prompt (the ragops ``<input>`` frame or ragas'
``input: {...}`` block), picks the task from the property names of the requested
``output_config`` schema, and decides each claim by how many of its content words
appear in the contexts. So a grounded answer really scores above a hallucinated one.

Faults are scripted per request, in order (:meth:`MessagesServer.script`): an HTTP
status with headers, a delay longer than the client's timeout, malformed JSON, a
refusal, a ``max_tokens`` truncation. ``peak_in_flight`` records the most requests the
server was handling at once.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Fault", "MessagesServer"]

_WORD = re.compile(r"[a-z0-9_]+")
_STOP = frozenset(
    [
        "the",
        "a",
        "an",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "is",
        "are",
        "was",
        "were",
        "be",
        "by",
        "with",
        "as",
        "it",
        "its",
        "this",
        "that",
        "what",
        "which",
        "how",
        "does",
        "do",
        "can",
        "from",
        "per",
        "every",
        "each",
    ]
)
#: Share of a claim's content words that must appear in the contexts to call it supported.
SUPPORT = 0.6


def words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 2}


def overlap(part: str, whole: str) -> float:
    got = words(part)
    return len(got & words(whole)) / len(got) if got else 0.0


def sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()]


@dataclass(frozen=True, slots=True)
class Fault:
    """What the server does with one request instead of judging it normally."""

    #: ``status`` | ``delay`` | ``malformed`` | ``refusal`` | ``max_tokens`` | ``wrong_count``
    kind: str
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


def _input(prompt: str) -> dict[str, Any]:
    match = re.search(r"<input>\n(.*)\n</input>", prompt, re.S)
    if match:
        data: dict[str, Any] = json.loads(match.group(1))
        return data
    # ragas: "... Now perform the same with the following input\ninput: {...}\nOutput: "
    tail = prompt.rsplit("input: ", 1)[-1]
    data = json.loads(tail[: tail.rindex("Output:")].strip())
    return data


def _texts(items: Any) -> list[str]:
    return [i["text"] if isinstance(i, dict) else str(i) for i in items]


def judge(schema: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """The verdict the schema asks for, decided by word overlap."""
    props = set(schema.get("properties", {}))
    contexts = " ".join(_texts(data.get("contexts", []))) or str(data.get("context", ""))
    if props == {"claims"}:
        return {"claims": sentences(data["answer"])}
    if props == {"statements"} and "answer" in data and "context" not in data:
        return {"statements": sentences(data["answer"])}  # ragas statement generator
    if props == {"verdicts"} and "claims" in data:
        return {
            "verdicts": [
                {
                    "index": c["index"],
                    "supported": overlap(c["text"], contexts) >= SUPPORT,
                    "reason": f"overlap {overlap(c['text'], contexts):.2f}",
                }
                for c in data["claims"]
            ]
        }
    if props == {"statements"} and "statements" in data:  # ragas NLI
        return {
            "statements": [
                {
                    "statement": s,
                    "reason": "overlap",
                    "verdict": int(overlap(s, contexts) >= SUPPORT),
                }
                for s in data["statements"]
            ]
        }
    if props == {"addresses", "noncommittal", "reason"}:
        share = overlap(data["question"], data["answer"])
        level = "fully" if share >= 0.6 else "partly" if share >= 0.3 else "not_at_all"
        return {"addresses": level, "noncommittal": False, "reason": f"overlap {share:.2f}"}
    if props == {"question", "noncommittal"}:  # ragas answer relevance
        return {"question": " ".join(sorted(words(data["response"]))) + "?", "noncommittal": 0}
    if props == {"verdicts"} and "target_answer" in data:
        return {
            "verdicts": [
                {
                    "index": c["index"],
                    "useful": overlap(data["target_answer"], c["text"]) >= 0.3,
                    "reason": "overlap",
                }
                for c in data["contexts"]
            ]
        }
    if props == {"reason", "verdict"}:  # ragas context precision, one context per call
        target = str(data.get("answer", ""))
        return {"reason": "overlap", "verdict": int(overlap(target, data["context"]) >= 0.3)}
    if props == {"statements"} and "reference_answer" in data:
        return {
            "statements": [
                {"statement": s, "attributed": overlap(s, contexts) >= SUPPORT, "reason": "overlap"}
                for s in sentences(data["reference_answer"])
            ]
        }
    if props == {"classifications"}:  # ragas context recall
        return {
            "classifications": [
                {
                    "statement": s,
                    "reason": "overlap",
                    "attributed": int(overlap(s, contexts) >= SUPPORT),
                }
                for s in sentences(str(data["answer"]))
            ]
        }
    raise ValueError(f"unknown task: schema properties {sorted(props)}")


class _Server(ThreadingHTTPServer):
    # socketserver's default backlog of 5 drops the SYNs of a burst of concurrent
    # connections, which the client then retries after a second: a real API does not.
    request_queue_size = 128


class MessagesServer:
    """The server and its counters; use as a context manager (starts and stops the thread)."""

    def __init__(self, latency_s: float = 0.0) -> None:
        self.latency_s = latency_s
        self.requests: list[dict[str, Any]] = []
        self.in_flight = 0
        self.peak_in_flight = 0
        self._faults: deque[Fault] = deque()
        self._lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def script(self, *faults: Fault) -> None:
        """Queue faults for the next requests, one each, in order."""
        with self._lock:
            self._faults.extend(faults)

    def __enter__(self) -> MessagesServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def _next_fault(self) -> Fault | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Small writes must not wait for the client's delayed ACK (~40 ms on Linux).
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.path != "/stats":
                    self._send(404, {}, _error("not_found_error", f"no route {self.path}"))
                    return
                with server._lock:
                    stats = {
                        "requests": len(server.requests),
                        "peak_in_flight": server.peak_in_flight,
                    }
                self._send(200, {}, stats)

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                raw = self.rfile.read(length)
                if self.path != "/v1/messages":
                    self._send(404, {}, _error("not_found_error", f"no route {self.path}"))
                    return
                body: dict[str, Any] = json.loads(raw)
                with server._lock:
                    server.requests.append(body)
                    server.in_flight += 1
                    server.peak_in_flight = max(server.peak_in_flight, server.in_flight)
                try:
                    status, headers, payload = server._respond(body)
                finally:
                    with server._lock:
                        server.in_flight -= 1
                self._send(status, headers, payload)

            def _send(self, status: int, headers: dict[str, str], payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                head = {
                    "content-type": "application/json",
                    "content-length": str(len(data)),
                    **headers,
                }
                lines = [f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}"]
                lines += [f"{key}: {value}" for key, value in head.items()]
                # One write per response: no small segment waiting on a delayed ACK.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    # The client may have timed out and left.
                    self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode() + data)

        return Handler

    def _respond(self, body: dict[str, Any]) -> tuple[int, dict[str, str], dict[str, Any]]:
        if self.path_ok(body) is False:
            return 400, {}, _error("invalid_request_error", "bad request")
        fault = self._next_fault()
        time.sleep(self.latency_s + (fault.delay_s if fault else 0.0))
        if fault is not None and fault.kind == "status":
            kind = {429: "rate_limit_error", 529: "overloaded_error"}.get(fault.status, "api_error")
            return fault.status, fault.headers, _error(kind, f"injected {fault.status}")
        prompt = body["messages"][0]["content"]
        schema = body["output_config"]["format"]["schema"]
        verdict = judge(schema, _input(prompt))
        if fault is not None and fault.kind == "wrong_count" and "verdicts" in verdict:
            verdict["verdicts"] = verdict["verdicts"][:-1]
        text = json.dumps(verdict)
        stop = "end_turn"
        if fault is not None and fault.kind == "malformed":
            text = text[: len(text) // 2] + "]]"
        elif fault is not None and fault.kind == "refusal":
            text, stop = "I can't help with evaluating this.", "refusal"
        elif fault is not None and fault.kind == "max_tokens":
            text, stop = text[: len(text) // 2], "max_tokens"
        usage = {"input_tokens": len(prompt) // 4 + 50, "output_tokens": len(text) // 4 + 5}
        return (
            200,
            {},
            {
                "id": f"msg_{len(self.requests):06d}",
                "type": "message",
                "role": "assistant",
                "model": body["model"],
                "content": [{"type": "text", "text": text}],
                "stop_reason": stop,
                "stop_sequence": None,
                "usage": usage,
            },
        )

    @staticmethod
    def path_ok(body: dict[str, Any]) -> bool:
        """What anthropic 2.x accepts: no sampling parameters, no forced tool use."""
        banned = {"temperature", "top_p", "top_k", "tool_choice"}
        return not banned & set(body) and "output_config" in body


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}}


def main() -> None:
    """Serve from a process of its own (the benchmark: no GIL shared with the client)."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(description="Loopback Messages API for ragops benchmarks")
    parser.add_argument("--latency", type=float, default=0.3)
    args = parser.parse_args()
    with MessagesServer(latency_s=args.latency) as server:
        print(server.url, flush=True)
        sys.stdin.read()  # serve until the parent closes our stdin


if __name__ == "__main__":
    main()

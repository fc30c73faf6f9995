"""Structured calls to the Anthropic Messages API with our own, bounded retries.

Shared by the Anthropic judge and the ragas adapter. Why not the SDK's own machinery:

* The SDK retries 429/5xx itself and honours ``retry-after`` with no cap, so a server
  asking for a 10-minute pause stalls a CI job. The client is built with
  ``max_retries=0`` and this module retries instead (never both: they would stack).
  A wait is ``retry-after`` (or ``retry-after-ms``) when the server sends one, else an
  exponential back-off with jitter, and never more than :attr:`RetryPolicy.max_delay_s`.
* ``messages.parse(output_format=...)`` validates inside the SDK's post-parser and raises
  before it returns the message, which loses ``stop_reason`` (refusal, ``max_tokens``) and
  ``usage`` (which the budget must count, even for a judgement we throw away). So the
  identical request is sent with ``messages.create(output_config={"format": ...})`` — the
  schema built by the SDK's public ``transform_schema``, as ``parse`` does — and the text is
  validated here with pydantic in strict mode.
* No ``tool_choice`` (the newest models reject forced tool use) and no sampling parameters
  (anthropic 2.x has none).

Each :meth:`MessagesCaller.structured` call makes its remote calls one after another, so
one engine concurrency slot covers it, retries included (CONTRACT: one slot per ``ascore``).
"""

from __future__ import annotations

import asyncio
import functools
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from pytest_ragops.pricing import cost_from_usage

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "JudgeStats",
    "JudgementError",
    "MessagesCaller",
    "RetryPolicy",
    "Tally",
    "make_client",
]

ModelT = TypeVar("ModelT", bound=BaseModel)

#: Status codes worth another attempt: timeout, conflict, rate limit, server errors, overloaded.
_RETRYABLE = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
#: Truncated judgements are retried with twice the token allowance, up to this.
_MAX_TOKENS_CAP = 8192


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard a judge tries before it records an error.

    Defaults: 6 attempts per request on 429/529/5xx/timeouts (waits capped at 30 s each, so
    a request gives up after at most ~2.5 minutes of waiting), and 3 judgements per metric
    when the answer is refused, truncated or does not validate.
    """

    #: Attempts per request on transport errors (429, 529, 5xx, timeout, connection).
    max_attempts: int = 6
    #: First back-off wait when the server sends no ``retry-after``; doubles each attempt.
    base_delay_s: float = 0.5
    #: Cap on any single wait, ``retry-after`` included.
    max_delay_s: float = 30.0
    #: Judgements per metric when one is refused, truncated or malformed.
    judgement_attempts: int = 3
    #: Per-request timeout.
    timeout_s: float = 60.0


@dataclass(slots=True)
class JudgeStats:
    """Session counters for the progress line and the report (one per judge instance)."""

    calls: int = 0
    retries: int = 0
    in_flight: int = 0
    peak_in_flight: int = 0
    failed_judgements: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    #: Responses whose cost could not be priced (model missing from the price table).
    unpriced: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Plain data for ``report_info``."""
        return {
            "calls": self.calls,
            "retries": self.retries,
            "peak_in_flight": self.peak_in_flight,
            "failed_judgements": self.failed_judgements,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": self.cost_usd,
            "unpriced_responses": self.unpriced,
        }


@dataclass(slots=True)
class Tally:
    """Usage and cost of the calls behind one score (every attempt counts: it was paid for)."""

    model: str
    usage: dict[str, int] = field(default_factory=dict)
    cost_usd: float | None = 0.0
    calls: int = 0

    def add(self, usage: Mapping[str, int]) -> float | None:
        self.calls += 1
        for key, value in usage.items():
            self.usage[key] = self.usage.get(key, 0) + value
        cost = cost_from_usage(self.model, dict(usage))
        # One unpriced response makes the whole score's cost unknown: never count it as 0.
        self.cost_usd = None if cost is None or self.cost_usd is None else self.cost_usd + cost
        return cost


class JudgementError(Exception):
    """No usable judgement: the one-line reason becomes the score's ``error``."""


def make_client(api_key: str | None, base_url: str | None, timeout_s: float) -> Any:
    """An ``AsyncAnthropic`` with the SDK's retries off (ours run instead; see module doc)."""
    import anthropic

    return anthropic.AsyncAnthropic(
        api_key=api_key, base_url=base_url, max_retries=0, timeout=timeout_s
    )


def retry_after_s(headers: Mapping[str, str] | None, now: datetime | None = None) -> float | None:
    """The server's requested wait: ``retry-after-ms``, else ``retry-after`` (seconds or a date)."""
    if not headers:
        return None
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return max(0.0, float(raw_ms) / 1000.0)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class MessagesCaller:
    """Sends structured-output requests for one judge and keeps its :class:`JudgeStats`.

    :param client_factory: builds the ``AsyncAnthropic`` client on first use, inside the
        session's event loop (its connection pool is bound to that loop).
    :param sleep: the wait between attempts (tests pass a recorder).
    """

    def __init__(
        self,
        model: str,
        client_factory: Callable[[], Any],
        policy: RetryPolicy | None = None,
        stats: JudgeStats | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.model = model
        self.policy = policy or RetryPolicy()
        self.stats = stats or JudgeStats()
        self._client_factory = client_factory
        self._client: Any = None
        self._sleep = sleep

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self._client_factory()
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def structured(
        self,
        *,
        system: str | None,
        prompt: str,
        schema: type[ModelT],
        max_tokens: int,
        tally: Tally,
        check: Callable[[ModelT], str | None] | None = None,
    ) -> ModelT:
        """One validated judgement of ``schema``; :class:`JudgementError` when none comes.

        A refused, truncated or invalid judgement (``check`` returns a reason for one
        that parses but is inconsistent) is asked again, up to
        ``policy.judgement_attempts`` times; truncation doubles the token allowance.
        """
        output_config = {"format": {"type": "json_schema", "schema": _wire_schema(schema)}}
        reason: str | None = "no judgement"
        for _ in range(self.policy.judgement_attempts):
            message = await self._send(system, prompt, output_config, max_tokens)
            self._count(tally, _usage(message))
            stop = message.get("stop_reason")
            reason = self._problem(stop, max_tokens)
            if reason is None:
                try:
                    parsed = schema.model_validate_json(_text(message), strict=True)
                except ValidationError as exc:
                    first = exc.errors()[0]
                    where = ".".join(str(p) for p in first["loc"]) or "(root)"
                    reason = f"malformed judgement: {where}: {first['msg']}"
                else:
                    reason = check(parsed) if check is not None else None
                    if reason is None:
                        return parsed
                    reason = f"inconsistent judgement: {reason}"
            if stop == "max_tokens":
                max_tokens = min(max_tokens * 2, _MAX_TOKENS_CAP)
            self.stats.failed_judgements += 1
        raise JudgementError(f"{reason} (after {self.policy.judgement_attempts} judgements)")

    def _count(self, tally: Tally, usage: dict[str, int]) -> None:
        cost = tally.add(usage)
        self.stats.input_tokens += usage.get("input_tokens", 0)
        self.stats.output_tokens += usage.get("output_tokens", 0)
        if cost is None:
            self.stats.unpriced += 1
        else:
            self.stats.cost_usd += cost

    @staticmethod
    def _problem(stop: object, max_tokens: int) -> str | None:
        if stop == "refusal":
            return "judge refused to answer"
        if stop == "max_tokens":
            return f"judgement truncated at max_tokens={max_tokens}"
        return None

    async def _send(
        self, system: str | None, prompt: str, output_config: dict[str, Any], max_tokens: int
    ) -> dict[str, Any]:
        """The response body as JSON (the raw response: building the SDK's ``Message``
        model for every call costs more client CPU than the rest of the call)."""
        import anthropic

        policy = self.policy
        kwargs: dict[str, Any] = {
            "model": self.model,
            "max_tokens": max_tokens,
            "messages": [{"role": "user", "content": prompt}],
            "output_config": output_config,
            "timeout": policy.timeout_s,
        }
        if system:
            kwargs["system"] = system
        for attempt in range(1, policy.max_attempts + 1):
            wait: float | None = None
            self.stats.in_flight += 1
            self.stats.peak_in_flight = max(self.stats.peak_in_flight, self.stats.in_flight)
            self.stats.calls += 1
            try:
                raw = await self.client.messages.with_raw_response.create(**kwargs)
                body = await raw.json()
                return body if isinstance(body, dict) else {}
            except anthropic.APIStatusError as exc:
                status = exc.status_code
                if status not in _RETRYABLE:
                    raise JudgementError(f"judge API error {status}: {_api_message(exc)}") from None
                failure = f"judge API error {status}: {_api_message(exc)}"
                wait = retry_after_s(exc.response.headers)
            except anthropic.APITimeoutError:
                failure = f"judge request timed out after {policy.timeout_s:g} s"
            except anthropic.APIConnectionError as exc:
                failure = f"judge connection failed: {exc}"
            finally:
                self.stats.in_flight -= 1
            if attempt == policy.max_attempts:
                break
            if wait is None:
                wait = policy.base_delay_s * 2 ** (attempt - 1) * random.uniform(0.5, 1.0)
            self.stats.retries += 1
            await self._sleep(min(wait, policy.max_delay_s))
        raise JudgementError(f"{failure} (gave up after {policy.max_attempts} attempts)")


@functools.cache
def _wire_schema(schema: type[BaseModel]) -> dict[str, Any]:
    """The schema as sent (SDK's ``transform_schema``); built once per model, it costs ms."""
    import anthropic

    wire: dict[str, Any] = anthropic.transform_schema(schema)
    return wire


def _usage(message: dict[str, Any]) -> dict[str, int]:
    usage = message.get("usage")
    if not isinstance(usage, dict):
        return {}
    keys = (
        "input_tokens",
        "output_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
    )
    found: dict[str, int] = {}
    for key in keys:
        value = usage.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            found[key] = value
    return found


def _text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if not isinstance(content, list):
        return ""
    return "".join(
        str(block.get("text", ""))
        for block in content
        if isinstance(block, dict) and block.get("type") == "text"
    )


def _api_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
    return str(getattr(exc, "message", exc)).splitlines()[0]

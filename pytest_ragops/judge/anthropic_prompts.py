"""The Anthropic judge's prompts and verdict schemas, versioned by content hash.

Each metric's version is the first 8 hex digits of a sha256 over its system prompt,
its instruction templates and the JSON schemas of its verdicts, so any edit to what the
judge is asked changes the score label (``anthropic:<model>:p<hash8>``) and every cache key.

Inputs travel as one JSON object inside ``<input>`` tags (JSON escaping keeps a context
that contains markup from breaking the frame).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "PROMPT_VERSIONS",
    "SYSTEM",
    "ClaimVerdicts",
    "Claims",
    "ContextVerdicts",
    "ReferenceVerdicts",
    "Relevance",
    "render",
]

_STRICT = ConfigDict(extra="forbid", strict=True)


class Claims(BaseModel):
    """Faithfulness step 1: the answer's atomic factual claims."""

    model_config = _STRICT
    claims: list[str] = Field(
        description="Each atomic factual claim the answer makes, verbatim-ish"
    )


class ClaimVerdict(BaseModel):
    model_config = _STRICT
    index: int = Field(description="1-based number of the claim judged")
    supported: bool = Field(description="true only if the contexts state or directly imply it")
    reason: str = Field(description="One sentence: the supporting passage, or what is missing")


class ClaimVerdicts(BaseModel):
    """Faithfulness step 2: one verdict per claim."""

    model_config = _STRICT
    verdicts: list[ClaimVerdict]


class Relevance(BaseModel):
    """Answer relevancy: how fully the answer addresses the question."""

    model_config = _STRICT
    addresses: Literal["fully", "mostly", "partly", "barely", "not_at_all"]
    noncommittal: bool = Field(description="true if the answer evades or says it does not know")
    reason: str


class ContextVerdict(BaseModel):
    model_config = _STRICT
    index: int = Field(description="1-based number of the context judged")
    useful: bool = Field(description="true if the passage helps arrive at the target answer")
    reason: str


class ContextVerdicts(BaseModel):
    """Context precision: one usefulness verdict per retrieved passage, in rank order."""

    model_config = _STRICT
    verdicts: list[ContextVerdict]


class ReferenceStatement(BaseModel):
    model_config = _STRICT
    statement: str = Field(description="One atomic statement of the reference answer")
    attributed: bool = Field(description="true if the contexts contain this statement")
    reason: str


class ReferenceVerdicts(BaseModel):
    """Context recall: the reference answer's statements, each attributed or not."""

    model_config = _STRICT
    statements: list[ReferenceStatement]


SYSTEM = (
    "You are a strict evaluator of retrieval-augmented answers. Judge only from the "
    "material given in <input>; use no outside knowledge. Reply with the JSON object the "
    "output schema describes and nothing else."
)

#: Instruction templates; ``{input}`` is replaced by the JSON input object.
TEMPLATES: dict[str, str] = {
    "faithfulness.claims": (
        "Break the answer into its atomic factual claims: short, self-contained statements, "
        "one fact each, with pronouns resolved. Leave out questions, hedges and statements "
        "about the answer itself. An answer that only declines to answer has no claims.\n"
        "<input>\n{input}\n</input>"
    ),
    "faithfulness.verify": (
        "For each numbered claim decide whether the contexts support it. A claim is "
        "supported only if the contexts state it or it follows directly from them; a claim "
        "that adds details, numbers or names the contexts lack is not supported. Give one "
        "verdict per claim, with its index.\n<input>\n{input}\n</input>"
    ),
    "answer_relevancy": (
        "Decide how fully the answer addresses the question that was asked: fully, mostly, "
        "partly, barely or not_at_all. Correctness does not matter here, only whether it "
        "answers this question. Mark it noncommittal if it evades or says it cannot "
        "answer.\n<input>\n{input}\n</input>"
    ),
    "context_precision": (
        "The contexts are passages retrieved for the question, in rank order. For each "
        "numbered context decide whether it is useful for arriving at the target answer. "
        "Give one verdict per context, with its index.\n<input>\n{input}\n</input>"
    ),
    "context_recall": (
        "Break the reference answer into atomic statements. For each, decide whether the "
        "retrieved contexts contain the information it states.\n<input>\n{input}\n</input>"
    ),
}

#: Which templates and schemas make up each metric (the unit of versioning).
_PARTS: dict[str, tuple[tuple[str, type[BaseModel]], ...]] = {
    "faithfulness": (("faithfulness.claims", Claims), ("faithfulness.verify", ClaimVerdicts)),
    "answer_relevancy": (("answer_relevancy", Relevance),),
    "context_precision": (("context_precision", ContextVerdicts),),
    "context_recall": (("context_recall", ReferenceVerdicts),),
}


def _version(metric: str) -> str:
    digest = hashlib.sha256(SYSTEM.encode())
    for template, schema in _PARTS[metric]:
        digest.update(b"\0" + TEMPLATES[template].encode())
        digest.update(b"\0" + json.dumps(schema.model_json_schema(), sort_keys=True).encode())
    return "p" + digest.hexdigest()[:8]


#: Prompt version per metric, e.g. ``{"faithfulness": "p1a2b3c4d", ...}``.
PROMPT_VERSIONS: dict[str, str] = {metric: _version(metric) for metric in _PARTS}


def render(template: str, data: dict[str, Any]) -> str:
    """The user message for ``template`` with ``data`` as the JSON input."""
    text = json.dumps(data, ensure_ascii=False, indent=1).replace("<", "\\u003c")
    return TEMPLATES[template].replace("{input}", text)

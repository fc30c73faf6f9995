"""Post-deploy smoke eval: a few golden cases asked over HTTP, scored, gated.

The cases go to the new colour directly (not through nginx), anonymously, so they take
the stable path and measure the release rather than a flag mix. Scores come from the
offline judge and the suite gates are the example's ``[tool.ragops.thresholds]``; a case
that fails over HTTP becomes a record with an error, which fails the gates (fail closed).
"""

from __future__ import annotations

import json
import time
import tomllib
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from pytest_ragops.cases import load_cases
from pytest_ragops.gates import evaluate_gates, parse_gates
from pytest_ragops.judge.base import Sample
from pytest_ragops.judge.offline import OfflineJudge
from pytest_ragops.results import Record, ScoreDict

if TYPE_CHECKING:
    from pytest_ragops.cases import Case
    from pytest_ragops.gates import Gate, GateResult
    from pytest_ragops.judge.base import Score

__all__ = ["SmokeResult", "load_gates", "score_sample", "smoke_eval"]

EXAMPLES: Final = Path(__file__).resolve().parent.parent
GOLDEN: Final = EXAMPLES / "golden.yaml"
PYPROJECT: Final = EXAMPLES / "pyproject.toml"


@dataclass(frozen=True, slots=True)
class SmokeResult:
    passed: bool
    #: One line per failed gate (empty when passed).
    reasons: tuple[str, ...]
    gates: tuple[GateResult, ...]
    records: tuple[Record, ...]


def score_sample(sample: Sample) -> list[Score]:
    """Score one answer. The one judge call of the deploy (to be moved to the async protocol)."""
    return OfflineJudge().score(sample)


def load_gates(pyproject: Path = PYPROJECT) -> list[Gate]:
    """The suite gates from ``[tool.ragops.thresholds]`` of the example's pyproject."""
    with pyproject.open("rb") as f:
        table = tomllib.load(f).get("tool", {}).get("ragops", {}).get("thresholds", {})
    return parse_gates(table, str(pyproject))


def _ask(base_url: str, question: str, timeout_s: float) -> dict[str, Any]:
    body = json.dumps({"question": question}).encode()
    request = urllib.request.Request(
        base_url.rstrip("/") + "/ask", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        data: dict[str, Any] = json.loads(response.read())
        return data


def _record(case: Case, base_url: str, timeout_s: float) -> Record:
    start = time.perf_counter()
    try:
        out = _ask(base_url, case.question, timeout_s)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return Record("smoke", case.question, "", case_id=case.id, error=f"/ask failed: {exc}")
    latency = time.perf_counter() - start
    contexts = [str(c) for c in out.get("contexts", [])]
    sample = Sample(
        question=case.question,
        answer=str(out.get("answer", "")),
        contexts=tuple(contexts),
        reference=case.reference,
        reference_contexts=tuple(case.reference_contexts),
    )
    scores: dict[str, ScoreDict] = {
        s.metric: {"value": s.value, "judge": s.judge, "error": s.error}
        for s in score_sample(sample)
    }
    cost = out.get("cost_usd")
    return Record(
        "smoke",
        case.question,
        sample.answer,
        contexts=contexts,
        reference=case.reference,
        case_id=case.id,
        scores=scores,
        cost_usd=float(cost) if isinstance(cost, int | float) else None,
        model="ragapp-service",
        latency_s=latency,
    )


def smoke_eval(
    base_url: str,
    n_cases: int = 8,
    *,
    golden: Path = GOLDEN,
    gates: list[Gate] | None = None,
    timeout_s: float = 10.0,
) -> SmokeResult:
    """Ask the first ``n_cases`` golden cases at ``base_url`` and check the suite gates."""
    cases = load_cases(golden)[:n_cases]
    records = tuple(_record(case, base_url, timeout_s) for case in cases)
    results = tuple(evaluate_gates(gates if gates is not None else load_gates(), records))
    errors = [f"{r.case_id}: {r.error}" for r in records if r.error]
    reasons = tuple(errors[:3]) + tuple(
        f"gate {g.gate.describe()}: {g.reason}" for g in results if not g.passed
    )
    passed = bool(results) and all(g.passed for g in results) and not errors
    if not results:
        reasons = (*reasons, "no gates configured: a smoke eval without gates cannot pass")
    return SmokeResult(passed, reasons, results, records)

"""Eval records and their aggregates.

A :class:`Record` is one scored answer. Records cross process boundaries (xdist workers
to the controller) and land in ``report.json``, so each has a ``to_dict``/``from_dict``
pair that round-trips exactly. :func:`aggregate` turns records into the named aggregates
that gates, reports and ``EvalResult.metrics`` use; missing scores are counted, never
filled in, so a gate over them can fail closed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, TypedDict

from pytest_ragops.errors import RagopsError
from pytest_ragops.judge.base import QUALITY_METRICS

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from pytest_ragops.judge.base import Score

__all__ = [
    "MIN_CI_CASES",
    "PASS_SCORE",
    "EvalResult",
    "MetricSummary",
    "Record",
    "ScopeAggregates",
    "ScoreDict",
    "aggregate",
    "aggregate_scopes",
    "bootstrap_ci",
    "bootstrap_cis",
    "check_number",
    "check_usage",
    "decode_records",
    "encode_record_chunks",
    "encode_records",
    "score_dict",
    "summarize",
]

#: A record "passes" when each of its quality scores is at least this.
PASS_SCORE = 0.5
#: Fewest distinct cases for a ``*_ci_low``/``*_ci_high`` gate: below it an interval says
#: too little to gate on, and the gate fails with that reason.
MIN_CI_CASES = 10


class _ScoreRequired(TypedDict):
    value: float | None
    judge: str
    error: str | None


class ScoreDict(_ScoreRequired, total=False):
    """One metric's score in a record, as stored in JSON."""

    #: Why this value (unsupported claims, the rule that failed, the judge's reasoning).
    rationale: str | None
    #: False: the metric does not apply (needs a reference the case lacks).
    applicable: bool
    #: Judge spend for this score, USD.
    cost_usd: float | None
    #: Served from the judge cache.
    cached: bool
    #: With ``--ragops-judge-repeats``: the values of each repeat, and their spread.
    repeats: list[float | None]
    spread: float | None


def check_number(value: object, field_name: str, *, upper: float | None = None) -> float | None:
    """A finite, non-negative float (or None); NaN, inf, negatives and bools are refused."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        try:  # numpy scalars and the like
            import numbers

            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError
            value = float(value)
        except (TypeError, ValueError):
            raise RagopsError(
                f"must be a number, got {type(value).__name__} {value!r}", field=field_name
            ) from None
    number = float(value)
    if not math.isfinite(number):
        raise RagopsError(f"must be a finite number, got {number!r}", field=field_name)
    if number < 0:
        raise RagopsError(f"must be >= 0, got {number!r}", field=field_name)
    if upper is not None and number > upper:
        raise RagopsError(f"must be <= {upper:g}, got {number!r}", field=field_name)
    return number


def _as_is(value: Any, field_name: str) -> Any:
    """:func:`check_number`'s place when a record is kept unchecked."""
    return value


def check_usage(usage: Mapping[str, Any] | None, field_name: str = "usage") -> None:
    """Token counts must be finite whole numbers >= 0 (nested dicts are left as they are)."""
    if usage is None:
        return
    for key, value in usage.items():
        if isinstance(value, dict | list | str) or value is None:
            continue
        checked = check_number(value, f"{field_name}.{key}")
        if checked is not None and checked != int(checked):
            raise RagopsError(f"must be a whole number, got {value!r}", field=f"{field_name}.{key}")


def score_dict(score: Score) -> ScoreDict:
    """A checked :class:`Score` as stored in a record (only the fields that say something)."""
    out = ScoreDict(value=score.value, judge=score.judge, error=score.error)
    if score.rationale:
        out["rationale"] = score.rationale
    if not score.applicable:
        out["applicable"] = False
    if score.cost_usd is not None:
        out["cost_usd"] = score.cost_usd
    if score.cached:
        out["cached"] = True
    return out


def _load_score(metric: str, v: Mapping[str, Any], where: str, check: bool = True) -> ScoreDict:
    value = v.get("value")
    if value is not None and check:
        value = check_number(value, f"{where}.scores.{metric}.value", upper=1.0)
    out = ScoreDict(value=value, judge=str(v.get("judge", "")), error=v.get("error"))
    for key in ("rationale", "applicable", "cost_usd", "cached", "repeats", "spread"):
        if key in v:
            out[key] = v[key]
    if "cost_usd" in out and out["cost_usd"] is not None and check:
        out["cost_usd"] = check_number(out["cost_usd"], f"{where}.scores.{metric}.cost_usd")
    return out


def _applicable(score: ScoreDict) -> bool:
    return score.get("applicable", True) is not False


@dataclass(slots=True)
class Record:
    """One answered, scored question."""

    #: pytest node id of the test that produced it.
    test_id: str
    question: str
    answer: str
    #: A list, or once the test has ended a :class:`pytest_ragops.spool.SpilledContexts`.
    contexts: Sequence[str] = field(default_factory=list)
    reference: str | None = None
    case_id: str | None = None
    variant: str | None = None
    #: Metric name → score; a quality metric the judge could not score has ``value`` None.
    scores: dict[str, ScoreDict] = field(default_factory=dict)
    #: ``None`` means the cost is unknown, which fails cost gates (never counted as 0).
    cost_usd: float | None = None
    usage: dict[str, Any] | None = None
    model: str | None = None
    latency_s: float | None = None
    #: Why the pipeline produced no answer, when it failed.
    error: str | None = None
    #: Why the cost is unknown (names the model or the missing usage field).
    cost_error: str | None = None
    #: The prompt variant's lineage: ``{"name", "version", "hash"}``.
    prompt: dict[str, str] | None = None
    #: Position among the records of the same test and question with no case id, so
    #: baselines can match them by (question, order).
    ordinal: int = 0

    def value(self, metric: str) -> float | None:
        """The record's value for ``metric`` (quality score, ``cost_usd`` or ``latency_s``)."""
        if metric == "cost_usd":
            return self.cost_usd
        if metric == "latency_s":
            return self.latency_s
        score = self.scores.get(metric)
        return None if score is None else score["value"]

    def applies(self, metric: str) -> bool:
        """False when the judge said ``metric`` does not apply to this record."""
        score = self.scores.get(metric)
        return score is None or _applicable(score)

    def case_key(self) -> str:
        """What identifies the case across variants and runs (its id, else the question)."""
        return f"id:{self.case_id}" if self.case_id is not None else f"q:{self.question}"

    def passed(self) -> bool:
        """True when the pipeline answered and every applicable score is at least PASS_SCORE."""
        if self.error is not None or not self.scores:
            return False
        applicable = [s for s in self.scores.values() if _applicable(s)]
        return all(s["value"] is not None and s["value"] >= PASS_SCORE for s in applicable)

    def judge_cost(self) -> float | None:
        """Judge spend behind this record's scores (None when no score reports any)."""
        costs = [s.get("cost_usd") for s in self.scores.values() if s.get("cost_usd") is not None]
        return math.fsum(c for c in costs if c is not None) if costs else None

    def to_dict(self, *, share: bool = False) -> dict[str, Any]:
        """Plain-JSON form (only builtins), for xdist and report.json.

        ``share=True`` reuses the record's own score dicts, context list and usage instead
        of copying them (for a report that is written and read, not edited).
        """
        if share:
            return {
                "test_id": self.test_id,
                "case_id": self.case_id,
                "variant": self.variant,
                "prompt": self.prompt,
                "question": self.question,
                "answer": self.answer,
                "contexts": self.contexts,
                "reference": self.reference,
                "scores": self.scores,
                "cost_usd": self.cost_usd,
                "cost_error": self.cost_error,
                "usage": self.usage,
                "model": self.model,
                "latency_s": self.latency_s,
                "error": self.error,
                "ordinal": self.ordinal,
            }
        return {
            "test_id": self.test_id,
            "case_id": self.case_id,
            "variant": self.variant,
            "prompt": None if self.prompt is None else dict(self.prompt),
            "question": self.question,
            "answer": self.answer,
            "contexts": list(self.contexts),
            "reference": self.reference,
            "scores": {k: dict(v) for k, v in self.scores.items()},
            "cost_usd": self.cost_usd,
            "cost_error": self.cost_error,
            "usage": self.usage,
            "model": self.model,
            "latency_s": self.latency_s,
            "error": self.error,
            "ordinal": self.ordinal,
        }

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], where: str = "record", *, check: bool = True
    ) -> Record:
        """Inverse of :meth:`to_dict`; values are checked again (NaN never gets in).

        ``check=False`` keeps a record whose numbers were refused (after the refusal was
        reported): the aggregates count such numbers as missing and fail the run.
        """
        scores: dict[str, ScoreDict] = {
            str(k): _load_score(str(k), v, where, check)
            for k, v in dict(data.get("scores") or {}).items()
        }
        usage = data.get("usage")
        if check:
            check_usage(usage, f"{where}.usage")
        prompt = data.get("prompt")
        number = check_number if check else _as_is
        return cls(
            test_id=str(data["test_id"]),
            case_id=data.get("case_id"),
            variant=data.get("variant"),
            question=str(data["question"]),
            answer=str(data["answer"]),
            contexts=[str(c) for c in data.get("contexts") or []],
            reference=data.get("reference"),
            scores=scores,
            cost_usd=number(data.get("cost_usd"), f"{where}.cost_usd"),
            usage=usage,
            model=data.get("model"),
            latency_s=number(data.get("latency_s"), f"{where}.latency_s"),
            error=data.get("error"),
            cost_error=data.get("cost_error"),
            prompt=None if prompt is None else {str(k): str(v) for k, v in dict(prompt).items()},
            ordinal=int(data.get("ordinal") or 0),
        )


def encode_records(records: Sequence[Record], blank: Iterable[tuple[int, str]] = ()) -> bytes:
    """Records as one JSON array (UTF-8), for an xdist worker's output.

    One bytes object crosses execnet's channel instead of every record's dicts and
    strings, which its pure-Python serialiser walks one by one (seconds at 20,000
    records). ``blank``: (record index, field) of numbers already refused and reported
    (:attr:`pytest_ragops.columns.Columns.flagged`), sent as null so that they arrive
    missing, not as a second refusal (orjson would write a NaN as null anyway).
    """
    import orjson

    dicts = [r.to_dict(share=True) for r in records]
    copied: set[int] = set()
    for i, name in blank:
        if i not in copied:  # a deep copy: the record's own dicts stay as they were
            dicts[i] = records[i].to_dict()
            copied.add(i)
        if name.startswith("scores."):
            metric, key = name.removeprefix("scores.").rsplit(".", 1)
            dicts[i]["scores"][metric][key] = None
        else:
            dicts[i][name] = None
    from pytest_ragops.spool import plain

    try:
        return orjson.dumps(dicts, default=plain)
    except TypeError:  # a type orjson does not know (a float subclass, ...)
        import json

        return json.dumps(dicts, allow_nan=False, default=plain).encode()


#: Records per chunk of a worker's output (about 7 MB at 5 KB of contexts per record).
RECORD_CHUNK: Final = 1000


def encode_record_chunks(
    records: Sequence[Record], blank: Iterable[tuple[int, str]] = (), size: int = RECORD_CHUNK
) -> list[bytes]:
    """:func:`encode_records` in chunks of ``size`` records, in order.

    A worker then holds one chunk's dicts at a time besides the bytes, and the controller
    decodes one chunk at a time: neither materialises every record's dicts at once.
    """
    by_chunk: dict[int, list[tuple[int, str]]] = {}
    for i, name in blank:
        by_chunk.setdefault(i // size, []).append((i % size, name))
    return [
        encode_records(records[start : start + size], by_chunk.get(start // size, ()))
        for start in range(0, len(records), size)
    ]


def decode_records(payload: bytes) -> list[Any]:
    """The record dicts of :func:`encode_records` (validated by :meth:`Record.from_dict`)."""
    import orjson

    data = orjson.loads(payload)
    if not isinstance(data, list):
        raise RagopsError("worker records must be a JSON array")
    return data


@dataclass(frozen=True, slots=True)
class MetricSummary:
    """One metric over a set of records."""

    metric: str
    n: int
    #: Records with no value for the metric (judge error, unknown cost, pipeline failure).
    missing: int
    mean: float | None
    ci_low: float | None
    ci_high: float | None
    minimum: float | None
    p50: float | None
    p95: float | None
    maximum: float | None
    total: float | None
    #: Records the metric does not apply to (no reference): neither missing nor scored.
    not_applicable: int = 0
    #: Distinct cases behind the values (the bootstrap's unit).
    cases: int = 0
    #: With judge repeats: the mean and largest spread between a case's repeats.
    spread_mean: float | None = None
    spread_max: float | None = None


def _percentile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolation percentile (numpy's default), without importing numpy."""
    if len(sorted_values) == 1:
        return sorted_values[0]
    pos = (len(sorted_values) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def bootstrap_ci(
    values: Sequence[float],
    confidence: float = 0.95,
    *,
    groups: Sequence[str] | None = None,
) -> tuple[float, float] | None:
    """Seeded bootstrap interval of the mean, resampling whole cases (BCa).

    ``groups`` names each value's case: a case's records (its variants, its repeats)
    move together, because they are not independent samples. The statistic is the
    mean over all records of the drawn cases. BCa where it is defined, else the
    percentile interval; None below two cases. See :mod:`pytest_ragops.bootstrap`.
    """
    return bootstrap_cis([(values, groups)], confidence)[0]


def bootstrap_cis(
    samples: Sequence[tuple[Sequence[float], Sequence[str] | None]],
    confidence: float = 0.95,
) -> list[tuple[float, float] | None]:
    """:func:`bootstrap_ci` of several ``(values, groups)`` samples, sharing the resamples."""
    from pytest_ragops.bootstrap import case_sums, intervals

    out: list[tuple[float, float] | None] = [None] * len(samples)
    pending: list[int] = []
    sums = []
    for k, (values, groups) in enumerate(samples):
        s, c = case_sums(values, groups)
        if len(s) < 2:
            continue
        if min(values) == max(values):
            out[k] = (float(values[0]), float(values[0]))
            continue
        pending.append(k)
        sums.append((s, c))
    for k, ci in zip(pending, intervals(sums, confidence), strict=True):
        out[k] = ci
    return out


def _values(metric: str, records: Sequence[Record]) -> tuple[list[float], list[str], int]:
    """The metric's values, their cases and how many records it does not apply to."""
    values: list[float] = []
    groups: list[str] = []
    not_applicable = 0
    for r in records:
        if not r.applies(metric):
            not_applicable += 1
            continue
        v = r.value(metric)
        if v is not None:
            values.append(v)
            groups.append(r.case_key())
    return values, groups, not_applicable


def _summary(
    metric: str,
    n: int,
    values: list[float],
    groups: list[str],
    not_applicable: int,
    ci: tuple[float, float] | None,
) -> MetricSummary:
    missing = n - not_applicable - len(values)
    if not values:
        return MetricSummary(
            metric, n, missing, mean=None, ci_low=None, ci_high=None, minimum=None,
            p50=None, p95=None, maximum=None, total=None, not_applicable=not_applicable, cases=0,
        )  # fmt: skip
    ordered = sorted(values)
    return MetricSummary(
        metric=metric,
        n=n,
        missing=missing,
        mean=math.fsum(values) / len(values),
        ci_low=None if ci is None else ci[0],
        ci_high=None if ci is None else ci[1],
        minimum=ordered[0],
        p50=_percentile(ordered, 0.5),
        p95=_percentile(ordered, 0.95),
        maximum=ordered[-1],
        total=math.fsum(values),
        not_applicable=not_applicable,
        cases=len(set(groups)),
    )


def summarize(metric: str, records: Sequence[Record], *, intervals: bool = True) -> MetricSummary:
    """Summarise ``metric`` over ``records``; missing values are counted, not imputed."""
    values, groups, not_applicable = _values(metric, records)
    ci = bootstrap_ci(values, groups=groups) if intervals and values else None
    return _summary(metric, len(records), values, groups, not_applicable, ci)


def metrics_present(records: Iterable[Record]) -> list[str]:
    """Metric names found in ``records``: quality metrics first (canonical order), then the rest."""
    found: set[str] = set()
    for r in records:
        found.update(r.scores)
    ordered = [m for m in QUALITY_METRICS if m in found]
    ordered += sorted(found - set(QUALITY_METRICS))
    return [*ordered, "cost_usd", "latency_s"]


def aggregate(
    records: Sequence[Record],
) -> tuple[dict[str, float | None], dict[str, MetricSummary]]:
    """Named aggregates over ``records`` plus the per-metric summaries behind them.

    Names: ``<metric>_mean|_min|_p50|_p95|_max|_ci_low|_ci_high`` for quality metrics;
    ``total_cost_usd``, ``cost_per_query_usd``, ``cost_max_usd``; ``judge_cost_usd`` and
    ``judge_cost_usd_<metric>`` (what judging each metric cost, so a team sees which one to trim);
    ``latency_mean_s``, ``latency_p50_s``, ``latency_p95_s``, ``latency_max_s``;
    ``pass_rate``, ``error_rate`` and ``records``. An aggregate over a metric with any
    missing value is still computed over the values present; :mod:`pytest_ragops.gates`
    fails gates on it. Cost totals are None when any cost is unknown: a partial sum
    would understate it. Intervals resample cases (see :func:`bootstrap_ci`).
    """
    from pytest_ragops.columns import Columns

    return Columns(records).scopes([None])[0]


#: What :func:`aggregate` returns: aggregate name → value, and metric → summary.
Aggregates = tuple[dict[str, float | None], dict[str, MetricSummary]]


@dataclass(frozen=True, slots=True)
class ScopeAggregates:
    """Every scope's aggregates, computed once and shared by gates and every report."""

    suite: Aggregates
    variants: dict[str, Aggregates]
    tests: dict[str, Aggregates]
    #: One line per record number that is not finite (NaN, inf): each fails the run.
    problems: tuple[str, ...] = ()


def aggregate_scopes(
    records: Sequence[Record],
    known_tests: Mapping[str, Aggregates] | None = None,
    *,
    suite: Aggregates | None = None,
) -> ScopeAggregates:
    """:func:`aggregate` over the suite, each variant (sorted) and each test (sorted).

    ``known_tests`` are test aggregates already computed over exactly that test's records
    (for its marker gates), ``suite`` the suite's: they are reused, not computed again.
    """
    from pytest_ragops.columns import Columns

    by_variant: dict[str, list[int]] = {}
    by_test: dict[str, list[int]] = {}
    for i, r in enumerate(records):
        if r.variant is not None:
            by_variant.setdefault(r.variant, []).append(i)
        by_test.setdefault(r.test_id, []).append(i)
    known = known_tests or {}
    variants = sorted(by_variant)
    tests = [t for t in sorted(by_test) if t not in known]
    groups: list[list[int] | None] = [] if suite is not None else [None]
    groups += [by_variant[v] for v in variants] + [by_test[t] for t in tests]
    columns = Columns(records)
    computed = iter(columns.scopes(groups) if groups else [])
    suite_aggregates = suite if suite is not None else next(computed)
    fresh_variants = {v: next(computed) for v in variants}
    fresh_tests = {t: next(computed) for t in tests}
    return ScopeAggregates(
        suite=suite_aggregates,
        variants=fresh_variants,
        tests={t: known[t] if t in known else fresh_tests[t] for t in sorted(by_test)},
        problems=tuple(columns.problems),
    )


@dataclass(slots=True)
class EvalResult:
    """What ``ragops.evaluate`` returns: the records and their aggregates."""

    records: list[Record]
    #: Aggregate name → value over all records of this call (see :func:`aggregate`).
    metrics: dict[str, float | None]
    summaries: dict[str, MetricSummary]
    #: Variant name → its aggregates (empty without variants).
    variants: dict[str, dict[str, float | None]] = field(default_factory=dict)

    @classmethod
    def from_records(cls, records: list[Record]) -> EvalResult:
        """Aggregate ``records`` overall and per variant."""
        from pytest_ragops.columns import Columns

        by_variant: dict[str, list[int]] = {}
        for i, r in enumerate(records):
            if r.variant is not None:
                by_variant.setdefault(r.variant, []).append(i)
        names = sorted(by_variant)
        (metrics, summaries), *rest = Columns(records).scopes(
            [None, *(by_variant[v] for v in names)]
        )
        variants = {v: values for v, (values, _) in zip(names, rest, strict=True)}
        return cls(records=records, metrics=metrics, summaries=summaries, variants=variants)

    @property
    def errors(self) -> list[Record]:
        """Records whose pipeline call failed."""
        return [r for r in self.records if r.error is not None]

    def best_variant(self, aggregate_name: str = "faithfulness_mean") -> str | None:
        """The variant best by ``aggregate_name``: highest, lowest for cost/latency/error rate.

        Variants with no value for it are never picked; ties go to the first name in sort order.
        """
        lower_is_better = any(w in aggregate_name for w in ("cost", "latency", "error_rate"))
        scored = [(v, m.get(aggregate_name)) for v, m in self.variants.items()]
        candidates = [(v, x) for v, x in scored if x is not None]
        if not candidates:
            return None
        key = (lambda t: (t[1], t[0])) if lower_is_better else (lambda t: (-t[1], t[0]))
        return min(candidates, key=key)[0]

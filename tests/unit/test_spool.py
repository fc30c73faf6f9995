"""Contexts parked on disk after their test: read back intact, encoded as lists, fail closed."""

from __future__ import annotations

import io
import json
from pathlib import Path

import orjson
import pytest

from pytest_ragops.report.model import stream_report
from pytest_ragops.results import Record, decode_records, encode_records
from pytest_ragops.spool import ContextSpool, SpilledContexts, plain

TEXTS = ["Paris is the capital of France.", "Zürich → 8001, naïve café", "\ud800 lone surrogate"]


def _rec(contexts: list[str]) -> Record:
    return Record(test_id="t", question="q?", answer="a", contexts=contexts)


def test_spilled_contexts_read_back_equal_and_leave_memory() -> None:
    spool = ContextSpool()
    recs = [_rec(list(TEXTS)), _rec(["second record"]), _rec([])]
    spool.spill(recs)
    assert isinstance(recs[0].contexts, SpilledContexts)
    assert isinstance(recs[1].contexts, SpilledContexts)
    assert recs[2].contexts == []  # nothing to park
    assert list(recs[0].contexts) == TEXTS
    assert recs[0].contexts == TEXTS
    assert recs[0].contexts[1] == TEXTS[1]
    assert recs[0].contexts[1:] == TEXTS[1:]
    assert len(recs[0].contexts) == 3
    assert recs[1].contexts == ["second record"]
    assert recs[0] == _rec(list(TEXTS))  # a record compares as before
    assert spool.size == sum(
        len(t.encode("utf-8", "surrogatepass")) for t in [*TEXTS, "second record"]
    )
    first = recs[0].contexts
    spool.spill(recs)  # already parked: not written twice
    assert recs[0].contexts is first
    assert spool.size == len(b"second record") + sum(
        len(t.encode("utf-8", "surrogatepass")) for t in TEXTS
    )
    spool.close()


def test_reports_and_worker_payloads_hold_the_contexts_as_lists() -> None:
    spool = ContextSpool()
    rec = _rec(TEXTS[:2])
    spool.spill([rec])
    (sent,) = decode_records(encode_records([rec]))
    assert sent["contexts"] == TEXTS[:2]
    out = io.BytesIO()
    stream_report({"records": [rec.to_dict(share=True)], "version": 1}, out)
    assert json.loads(out.getvalue())["records"][0]["contexts"] == TEXTS[:2]
    assert rec.to_dict()["contexts"] == TEXTS[:2]
    assert isinstance(rec.to_dict()["contexts"], list)
    with pytest.raises(TypeError, match="not JSON serializable: object"):
        orjson.dumps(object(), default=plain)
    spool.close()


def test_a_lone_surrogate_falls_back_to_the_json_module() -> None:
    spool = ContextSpool()
    rec = _rec([TEXTS[2]])
    spool.spill([rec])
    out = io.BytesIO()
    stream_report({"records": [rec.to_dict(share=True)]}, out)  # orjson refuses it
    assert json.loads(out.getvalue())["records"][0]["contexts"] == [TEXTS[2]]
    spool.close()


def test_a_closed_spool_is_an_error_not_empty_contexts() -> None:
    spool = ContextSpool()
    rec = _rec(["kept"])
    spool.spill([rec])
    spool.close()
    with pytest.raises(ValueError, match="contexts spool is closed"):
        list(rec.contexts)


def test_a_spool_that_cannot_write_keeps_contexts_in_memory(tmp_path: Path) -> None:
    spool = ContextSpool(directory=str(tmp_path / "missing"))
    rec = _rec(["stays"])
    spool.spill([rec])
    assert spool.enabled is False
    assert rec.contexts == ["stays"]
    assert isinstance(rec.contexts, list)
    spool.spill([_rec(["later"])])  # no second attempt
    assert spool.size == 0

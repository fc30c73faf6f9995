"""The service process: a reindex under load through nginx; a clean stop loses no drift row."""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deploy.load import LoadLoop
from deploy.runners import ProcessRunner, free_port

from pytest_ragops.drift import RetrievalLog

if TYPE_CHECKING:
    from tests.integration.service.conftest import Stack

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def _post(url: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_reindex_under_load_switches_answers_to_the_new_corpus(
    stack: Stack, tmp_path: Path
) -> None:
    new = tmp_path / "corpus-v2"
    new.mkdir()
    for doc in sorted((EXAMPLES / "corpus").glob("*.md")):
        shutil.copy(doc, new / f"v2-{doc.name}")
    empty = tmp_path / "empty"
    empty.mkdir()
    reindex = stack.url + "/admin/reindex"
    load = LoadLoop(stack.url, rate=20, duration_s=60).start()
    time.sleep(2.0)
    assert _post(reindex, {"corpus": str(new)}, {})[0] == 401
    assert _post(reindex, {"corpus": str(new)}, {"Authorization": "Bearer wrong"})[0] == 401
    status, body = _post(reindex, {"corpus": str(empty)}, {"Authorization": "Bearer s3cret"})
    assert status == 422
    assert "live index unchanged" in body["detail"]
    time.sleep(1.0)
    swapped_at = time.time()
    status, body = _post(reindex, {"corpus": str(new)}, {"Authorization": "Bearer s3cret"})
    assert status == 200, body
    assert body["index_generation"] == 2
    time.sleep(2.0)
    results = load.stop()
    assert load.failures() == [], load.failures()[:3]
    before = [r for r in results if r.t < swapped_at - 0.5]
    after = [r for r in results if r.t > swapped_at + 1.0]
    assert before
    assert after
    assert all(not s.startswith("v2-") for r in before for s in r.sources)
    assert all(r.sources and all(s.startswith("v2-") for s in r.sources) for r in after)


def test_clean_stop_writes_every_drift_row(tmp_path: Path) -> None:
    db = tmp_path / "drift.db"
    port = free_port()
    runner = ProcessRunner()
    # Rows would wait an hour in memory: only the shutdown flush can write them.
    env = {"RAGAPP_DRIFT_DB": str(db), "RAGAPP_DRIFT_FLUSH_S": "3600"}
    handle = runner.start("blue", port, env, tmp_path / "service.log")
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, (tmp_path / "service.log").read_text()
                time.sleep(0.2)
        load = LoadLoop(f"http://127.0.0.1:{port}", rate=0, workers=4, max_requests=120)
        load.run()
        assert load.failures() == []
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
            health = json.loads(response.read())
        assert (health["drift_pending"], health["drift_written"]) == (120, 0)
    finally:
        runner.stop(handle)
    with RetrievalLog(db) as log:
        assert log.count() == 120
    from pytest_ragops.drift.store import TABLE

    with contextlib.closing(sqlite3.connect(db)) as conn:
        recent = [float(r[0]) for r in conn.execute(f"SELECT top_score FROM {TABLE}")]
    # Stamped when asked (the recent window), each a valid normalised score.
    assert len(recent) == 120
    assert all(0.0 <= s <= 1.0 for s in recent)

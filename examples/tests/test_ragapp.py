"""Unit tests of the example app (no eval, no network): chunking, BM25, generation, ingest."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from ragapp.app import CORPUS_DIR, answer, load_variant, select_contexts
from ragapp.chunking import Chunk, chunk_markdown, load_corpus
from ragapp.generator import NOT_FOUND, OFFLINE_MODEL, TIPS, ExtractiveGenerator, split_sentences
from ragapp.ingest import build_index, load_index
from ragapp.retrieval import BM25Index, terms

from pytest_ragops import RagopsError, load_cases
from pytest_ragops.pricing import cost_from_usage

EXAMPLES = Path(__file__).resolve().parent.parent
GOLDEN = EXAMPLES / "golden.yaml"


@pytest.fixture(scope="module")
def chunks() -> list[Chunk]:
    return load_corpus(CORPUS_DIR)


@pytest.fixture(scope="module")
def index(chunks: list[Chunk]) -> BM25Index:
    return BM25Index(chunks)


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests exercise the offline path whatever the developer's environment holds."""
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("RAGAPP_GENERATOR", raising=False)
    monkeypatch.delenv("RAGAPP_INDEX", raising=False)
    monkeypatch.delenv("RAGAPP_PROMPTS_DIR", raising=False)


# -- corpus and golden set -------------------------------------------------------------


def test_corpus_has_enough_documents_of_the_right_size() -> None:
    docs = sorted(CORPUS_DIR.glob("*.md"))
    assert 16 <= len(docs) <= 18
    for doc in docs:
        text = doc.read_text(encoding="utf-8")
        assert text.startswith("# "), doc.name
        assert 250 <= len(text.split()) <= 600, doc.name


def test_golden_cases_are_grounded_in_the_corpus(chunks: list[Chunk]) -> None:
    cases = load_cases(GOLDEN)
    assert len(cases) >= 32
    assert len({c.id for c in cases}) == len(cases)
    texts = [c.text for c in chunks]
    for case in cases:
        assert case.reference, case.id
        assert case.tags, case.id
        assert case.reference_contexts, case.id
        for passage in case.reference_contexts:
            assert any(passage in t for t in texts), (case.id, passage)


# -- chunking --------------------------------------------------------------------------


def test_chunk_markdown_splits_paragraphs_and_keeps_title() -> None:
    text = "# Title\n\nFirst line\ncontinues.\n\n## Sub\nSecond.\n\n```\ncode\n\nmore\n```\n"
    got = chunk_markdown("doc", text)
    assert [(c.id, c.doc_id, c.title, c.text) for c in got] == [
        ("doc#0", "doc", "Title", "First line continues."),
        ("doc#1", "doc", "Title", "Sub. Second."),
        ("doc#2", "doc", "Title", "```\ncode\n\nmore\n```"),
    ]


def test_chunk_round_trips_through_dict() -> None:
    chunk = Chunk(id="d#1", doc_id="d", title="T", text="x")
    assert Chunk.from_dict(chunk.to_dict()) == chunk


def test_load_corpus_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_corpus(tmp_path / "nope")


# -- retrieval -------------------------------------------------------------------------


def test_terms_fold_inflections_and_split_identifiers() -> None:
    assert terms("Replicas replicated the databases") == ["replica", "replicat", "databas"]
    assert terms("max_wal_size") == ["max_wal_size", "max", "wal", "size"]


@pytest.mark.parametrize(
    ("question", "doc"),
    [
        ("How does PgBouncer transaction pooling work?", "connection-pooling-pgbouncer"),
        ("When is a BRIN index useful?", "gin-and-brin-indexes"),
        ("What does pg_rewind need after a failover?", "high-availability-failover"),
        ("How do I set up point-in-time recovery with archive_command?", "backups-and-pitr"),
        ("What is the default checkpoint_timeout?", "wal-and-checkpoints"),
        ("Which wal_level does a publication need?", "logical-replication"),
    ],
)
def test_search_ranks_the_right_document_first(index: BM25Index, question: str, doc: str) -> None:
    hits = index.search(question, 3)
    assert hits[0].chunk.doc_id == doc
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_search_finds_the_reference_passage_for_most_golden_cases(index: BM25Index) -> None:
    cases = load_cases(GOLDEN)
    found = 0
    for case in cases:
        texts = [h.chunk.text for h in index.search(case.question, 3)]
        found += any(ref in t for ref in case.reference_contexts for t in texts)
    assert found / len(cases) >= 0.9


def test_search_is_deterministic_and_breaks_ties_by_id() -> None:
    same = [Chunk(id=f"d#{n}", doc_id="d", title="t", text="vacuum bloat") for n in (2, 0, 1)]
    hits = BM25Index(same).search("vacuum", 3)
    assert [h.chunk.id for h in hits] == ["d#0", "d#1", "d#2"]
    assert BM25Index(same).search("unrelated words", 3) == []
    with pytest.raises(ValueError, match="top_k must be at least 1"):
        BM25Index(same).search("vacuum", 0)
    with pytest.raises(ValueError, match="zero chunks"):
        BM25Index([])


def test_normalised_score_separates_on_and_off_topic(index: BM25Index) -> None:
    def top(question: str) -> float:
        hits = index.search(question, 1)
        return index.normalised(question, hits[0].score) if hits else 0.0

    on_topic = top("What does autovacuum_freeze_max_age default to?")
    off_topic = top("How do I bake sourdough bread with rye flour?")
    assert 0.7 <= on_topic <= 1.0
    assert off_topic <= 0.2
    assert index.normalised("anything", 0.0) == 0.0
    assert index.normalised("", 5.0) == 0.0


# -- generation ------------------------------------------------------------------------


def test_split_sentences_keeps_elided_sql_and_decimals_together() -> None:
    text = "Use ALTER TABLE ... ALTER COLUMN to set 1.1 here. Then reload! Done?"
    assert split_sentences(text) == [
        "Use ALTER TABLE ... ALTER COLUMN to set 1.1 here.",
        "Then reload!",
        "Done?",
    ]


def test_extractive_styles(index: BM25Index) -> None:
    gen = ExtractiveGenerator(index.idf)
    contexts = [
        "Autovacuum has workers. By default autovacuum_max_workers is 3. Cats sleep.",
        "The naptime is 1 minute.",
    ]
    question = "How many autovacuum workers run by default?"
    short = gen.generate(question, contexts, "extractive-short")
    assert short.answer == "By default autovacuum_max_workers is 3."
    assert (short.model, short.usage, short.cost_usd) == (OFFLINE_MODEL, None, 0.0)
    full = gen.generate(question, contexts, "extractive-full")
    assert full.answer == "Autovacuum has workers. By default autovacuum_max_workers is 3."
    assert gen.generate(question, contexts, "quote").answer == contexts[0]
    assert gen.generate(question, [], "quote").answer == NOT_FOUND
    tipped = gen.generate(question, contexts, "extractive-short", tips=True).answer
    assert tipped.startswith(short.answer + " Tip: ")
    assert tipped == gen.generate(question, contexts, "extractive-short", tips=True).answer
    assert tipped.removeprefix(short.answer + " ") in TIPS
    with pytest.raises(ValueError, match="unknown answer style 'poem'"):
        gen.generate(question, contexts, "poem")


def test_select_contexts_respects_the_budget() -> None:
    texts = ["a" * 40, "b" * 40, "c" * 10]
    assert select_contexts(texts, 100) == ["a" * 40, "b" * 40, "c" * 10]
    assert select_contexts(texts, 85) == ["a" * 40, "b" * 40]
    assert select_contexts(["One two. Three four five six."], 12) == ["One two."]
    assert select_contexts(["x" * 30], 10) == ["x" * 10]


# -- app -------------------------------------------------------------------------------


def test_answer_offline_returns_the_pipeline_contract() -> None:
    out = answer({"question": "What is the default checkpoint_timeout?"}, "baseline")
    assert set(out) >= {"answer", "contexts", "cost_usd", "model", "usage", "retrieval_score"}
    assert out["model"] == OFFLINE_MODEL
    # Estimated tokens priced on the variant's model: more context costs more.
    assert out["usage"]["input_tokens"] > out["usage"]["output_tokens"] > 0
    assert out["cost_usd"] == cost_from_usage("claude-haiku-4-5", out["usage"])
    assert out["cost_usd"] > 0.0
    assert "5 minutes" in out["answer"]
    assert all(isinstance(c, str) for c in out["contexts"])
    assert 0.0 < out["retrieval_score"] <= 1.0
    assert out["sources"][0].startswith("wal-and-checkpoints#")
    assert re.fullmatch(r"[0-9a-f]{12}", out["prompt_version"])


def test_variants_change_context_and_answer() -> None:
    question = "How do I enable the pg_stat_statements extension?"
    outs = {v: answer(question, v) for v in ("baseline", "concise", "wide_context")}
    sizes = {v: len(o["contexts"]) for v, o in outs.items()}
    assert sizes["concise"] < sizes["baseline"] < sizes["wide_context"]
    assert sum(len(c) for c in outs["concise"]["contexts"]) <= 400
    assert len({o["answer"] for o in outs.values()}) == 3


def test_answer_uses_an_ingested_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "only.md").write_text("# Only\n\nThe answer to bloat is VACUUM.\n", encoding="utf-8")
    out_file = tmp_path / "index.json"
    out_file.write_text(json.dumps(build_index(corpus)), encoding="utf-8")
    monkeypatch.setenv("RAGAPP_INDEX", str(out_file))
    out = answer("What fixes bloat?", "concise")
    assert out["contexts"] == ["The answer to bloat is VACUUM."]
    assert out["sources"] == ["only#0"]


def test_load_variant_rejects_params_the_app_cannot_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAGAPP_PROMPTS_DIR", str(tmp_path))
    (tmp_path / "bad.yaml").write_text(
        "params: {top_k: 0, context_budget: 100, style: quote}\ntemplate: '{question}'\n",
        encoding="utf-8",
    )
    with pytest.raises(RagopsError) as info:
        load_variant("bad")
    assert (
        str(info.value)
        == f"{tmp_path / 'bad.yaml'}: params.top_k: must be a positive integer, got 0"
    )
    (tmp_path / "style.yaml").write_text(
        "params: {top_k: 1, context_budget: 100, style: poem}\ntemplate: '{question}'\n",
        encoding="utf-8",
    )
    with pytest.raises(RagopsError, match=r"params\.style: must be one of extractive-short"):
        load_variant("style")
    monkeypatch.setenv("RAGAPP_GENERATOR", "sometimes")
    with pytest.raises(RagopsError, match=r"^\$RAGAPP_GENERATOR: must be one of auto"):
        answer("What fixes bloat?", "baseline")


# -- ingest ----------------------------------------------------------------------------


def _ingest(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(EXAMPLES)}
    return subprocess.run(
        [sys.executable, "-m", "ragapp.ingest", *args],
        cwd=EXAMPLES,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_ingest_is_deterministic(tmp_path: Path, chunks: list[Chunk]) -> None:
    first, second = tmp_path / "a" / "index.json", tmp_path / "b.json"
    for out in (first, second):
        done = _ingest("corpus", str(out))
        assert done.returncode == 0, done.stderr
        assert done.stdout.endswith(f"{len(chunks)} chunks from 17 documents\n")
    data = first.read_bytes()
    assert data == second.read_bytes()
    doc = json.loads(data)
    assert data.decode() == json.dumps(doc, indent=2, sort_keys=True) + "\n"
    assert load_index(first) == chunks
    assert sorted(doc["documents"]) == [p.stem for p in sorted(CORPUS_DIR.glob("*.md"))]


def test_ingest_bad_input_is_one_line(tmp_path: Path) -> None:
    done = _ingest(str(tmp_path / "missing"), str(tmp_path / "out.json"))
    assert done.returncode == 2
    assert (
        done.stderr
        == f"ragapp.ingest: error: corpus directory {tmp_path / 'missing'} does not exist\n"
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    done = _ingest(str(empty), str(tmp_path / "out.json"))
    assert done.returncode == 2
    assert "has no non-empty *.md files" in done.stderr
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": 99}', encoding="utf-8")
    with pytest.raises(ValueError, match="is not a ragapp index"):
        load_index(bad)

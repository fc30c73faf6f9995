"""The HTTP service: ``POST /ask``, ``GET /health``, ``POST /admin/reindex``.

Per request: the user comes from ``X-User-ID``; the flags ``new_prompt_v3`` (prompt
variant) and ``use_reranker`` are evaluated for that user by the stable hash, so a user
keeps their variant on every request and replica; an anonymous request always takes the
stable path. The index lives in an :class:`IndexSwapper`: a request reads it once, a
reindex builds and smoke-checks a new one beside it and publishes it atomically. The
top retrieval score of every answer is handed to a :class:`BatchedDriftWriter`.

Start: ``uvicorn service.app:create_app --factory`` with ``examples/`` on the path.
"""

from __future__ import annotations

import hmac
import itertools
import logging
import threading
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final

from fastapi import FastAPI, Header, HTTPException, Response
from pydantic import BaseModel, Field
from ragapp.app import load_variant
from ragapp.chunking import load_corpus
from ragapp.ingest import load_index
from ragapp.retrieval import BM25Index

from pytest_ragops.errors import RagopsError
from pytest_ragops.flags import FeatureFlags, IndexSwapper
from service.config import ServiceConfig
from service.drift_writer import BatchedDriftWriter
from service.pipeline import answer

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

__all__ = ["PROMPT_FLAG", "RERANKER_FLAG", "Service", "build_index", "create_app", "smoke_check"]

#: Flag choosing the new prompt; its "on" variant is the ``concise`` prompt file.
PROMPT_FLAG: Final = "new_prompt_v3"
RERANKER_FLAG: Final = "use_reranker"
STABLE_PROMPT: Final = "baseline"
V3_PROMPT: Final = "concise"
_log = logging.getLogger("ragapp.service")


def build_index(source: Path) -> BM25Index:
    """Load a corpus directory (``*.md``) or an ingest JSON into a BM25 index."""
    chunks = load_index(source) if source.suffix == ".json" else load_corpus(source)
    return BM25Index(chunks)


def smoke_check(index: BM25Index) -> bool:
    """A new index must find its own passages: each probe chunk's text ranks it first.

    Probes the first, middle and last chunk, so a truncated or mis-tokenised build fails
    before it can serve.
    """
    chunks = index.chunks
    for chunk in {chunks[0], chunks[len(chunks) // 2], chunks[-1]}:
        hits = index.search(f"{chunk.title} {chunk.text}", 3)
        if chunk.id not in {h.chunk.id for h in hits}:
            raise RagopsError(f"probe passage {chunk.id} is not retrieved", field="index")
    return True


class AskBody(BaseModel):
    question: str = Field(min_length=1, max_length=2000)


class ReindexBody(BaseModel):
    #: Corpus directory or ingest JSON; the current source when omitted.
    corpus: str | None = None


class Service:
    """State shared by the requests of one process."""

    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        self.flags = FeatureFlags.from_yaml(config.flags) if config.features else None
        self.prompts = {name: load_variant(name) for name in (STABLE_PROMPT, V3_PROMPT)}
        self.corpus = config.corpus
        self.index: IndexSwapper[BM25Index] = IndexSwapper(smoke_check=smoke_check)
        self.index.build_and_swap(lambda: build_index(config.corpus))
        self.drift: BatchedDriftWriter | None = None
        if config.drift_db is not None:
            from pytest_ragops.drift import RetrievalLog

            self.drift = BatchedDriftWriter(
                RetrievalLog(config.drift_db), interval_s=config.drift_flush_s
            )
        self._requests = itertools.count()
        self._reindex_lock = threading.Lock()

    def choose(self, user_id: str) -> tuple[str, bool]:
        """The prompt variant and reranker switch for a user; anonymous = stable path."""
        if not user_id or self.flags is None:
            return STABLE_PROMPT, False
        v3 = self.flags.is_enabled(PROMPT_FLAG, user_id)
        return (V3_PROMPT if v3 else STABLE_PROMPT), self.flags.is_enabled(RERANKER_FLAG, user_id)

    def injected_fault(self, user_id: str) -> bool:
        """Fault injection: exactly ``fault_error_rate`` of identified users' requests fail."""
        rate = self.config.fault_error_rate
        if not user_id or rate <= 0.0:
            return False
        n = next(self._requests)
        return int((n + 1) * rate) > int(n * rate)

    def reindex(self, corpus: Path) -> int:
        """Build, smoke-check and swap in the index of ``corpus``; return the generation."""
        with self._reindex_lock:
            self.index.build_and_swap(lambda: build_index(corpus))
            self.corpus = corpus
            return self.index.generation

    def close(self) -> None:
        if self.drift is not None:
            self.drift.close()


def create_app(config: ServiceConfig | None = None) -> FastAPI:
    """The FastAPI app; the index and drift writer are built in the lifespan."""
    state: dict[str, Service] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        service = Service(config or ServiceConfig.from_env())
        state["service"] = service
        _log.info("ragapp %s serving %s", service.config.color, service.corpus)
        try:
            yield
        finally:
            service.close()

    app = FastAPI(title="ragapp", lifespan=lifespan)

    @app.post("/ask")
    def ask(
        body: AskBody,
        response: Response,
        x_user_id: Annotated[str, Header()] = "",
    ) -> dict[str, Any]:
        service = state["service"]
        if service.injected_fault(x_user_id):
            raise HTTPException(status_code=500, detail="injected fault (RAGAPP_FAULT_ERROR_RATE)")
        variant, reranker = service.choose(x_user_id)
        index = service.index.current()  # one read: this request keeps this index
        result = answer(index, body.question, service.prompts[variant], use_reranker=reranker)
        if service.drift is not None:
            service.drift.submit(body.question, result.retrieval_score, x_user_id or "anonymous")
        color = service.config.color
        response.headers["X-Color"] = color
        response.headers["X-Retrieval-Score"] = f"{result.retrieval_score:.6f}"
        return {
            "answer": result.answer,
            "contexts": result.contexts,
            "sources": result.sources,
            "variant": variant,
            "reranker": reranker,
            "color": color,
            "retrieval_score": result.retrieval_score,
            "cost_usd": result.cost_usd,
            "index_generation": service.index.generation,
        }

    @app.get("/health")
    def health(response: Response) -> dict[str, Any]:
        service = state.get("service")
        if service is None:
            raise HTTPException(status_code=503, detail="starting")
        try:
            index = service.index.current()
            ok = bool(index.search(index.chunks[0].text, 1))
        except (RagopsError, IndexError, ValueError) as exc:
            raise HTTPException(status_code=503, detail=f"index not ready: {exc}") from None
        if not ok:
            raise HTTPException(status_code=503, detail="index answers nothing")
        response.headers["X-Color"] = service.config.color
        drift = service.drift
        return {
            "status": "ok",
            "color": service.config.color,
            "chunks": len(index.chunks),
            "index_generation": service.index.generation,
            "corpus": str(service.corpus),
            "drift_pending": None if drift is None else drift.pending,
            "drift_written": None if drift is None else drift.written,
        }

    @app.post("/admin/reindex")
    def reindex(body: ReindexBody, authorization: Annotated[str, Header()] = "") -> dict[str, Any]:
        service = state["service"]
        token = service.config.admin_token
        if token is None:
            raise HTTPException(
                status_code=403, detail="reindex disabled: RAGAPP_ADMIN_TOKEN unset"
            )
        given = authorization.removeprefix("Bearer ")
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise HTTPException(status_code=401, detail="bad or missing bearer token")
        corpus = Path(body.corpus) if body.corpus else service.corpus
        try:
            generation = service.reindex(corpus)
        except (RagopsError, OSError, ValueError) as exc:
            raise HTTPException(
                status_code=422, detail=f"reindex rejected, live index unchanged: {exc}"
            ) from None
        return {"status": "swapped", "index_generation": generation, "corpus": str(corpus)}

    return app

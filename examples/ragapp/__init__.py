"""A small RAG app over a PostgreSQL-operations corpus, used to dogfood pytest-ragops.

Retrieval is BM25 over paragraph chunks; generation is extractive offline, or Claude
when ``ANTHROPIC_API_KEY`` is set. The entry point is :func:`ragapp.app.answer`.
"""

from __future__ import annotations

__all__: list[str] = []

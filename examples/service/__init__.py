"""The example RAG app served over HTTP: flags and canary colour in the request path.

Run it with ``uvicorn service.app:create_app --factory`` from ``examples/`` (see
``docs/deploy.md``); FastAPI and uvicorn come from the ``example`` extra, never from
the plugin itself.
"""

from __future__ import annotations

__all__: list[str] = []

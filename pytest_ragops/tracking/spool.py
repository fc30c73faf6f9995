"""The local spool: payloads that could not be logged wait here for ``ragops sync``.

One JSON file per session, named by its run key, written atomically; a file that cannot
be read is reported by name and left in place, never deleted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_ragops.errors import RagopsError
from pytest_ragops.tracking.payload import PAYLOAD_FORMAT

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["load_spooled", "spool_payload", "spooled_files"]


def spool_payload(payload: Mapping[str, Any], directory: Path) -> Path:
    """Write ``payload`` to ``directory/<run_key>.json`` and return the path."""
    from pytest_ragops.report.model import write_text_atomic

    path = directory / f"{payload['run_key']}.json"
    write_text_atomic(json.dumps(payload, sort_keys=True, allow_nan=False) + "\n", path)
    return path


def spooled_files(directory: Path) -> list[Path]:
    """Spooled payloads, oldest first (by name within the same second)."""
    if not directory.is_dir():
        return []
    files = [p for p in directory.glob("*.json") if p.is_file()]
    return sorted(files, key=lambda p: (p.stat().st_mtime, p.name))


def load_spooled(path: Path) -> dict[str, Any]:
    """Read one spooled payload, refusing anything that is not one with a one-line error."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise RagopsError(
            f"cannot read spooled run ({exc.__class__.__name__})", path=str(path)
        ) from None
    except json.JSONDecodeError as exc:
        raise RagopsError(f"invalid JSON at line {exc.lineno}: {exc.msg}", path=str(path)) from None
    if not isinstance(data, dict) or data.get("format") != PAYLOAD_FORMAT:
        raise RagopsError(
            f"not a spooled pytest-ragops run of format {PAYLOAD_FORMAT}",
            path=str(path),
            field="format",
        )
    for key, kind in (("run_key", str), ("experiment", str), ("session", dict), ("variants", list)):
        if not isinstance(data.get(key), kind):
            raise RagopsError(f"must be a JSON {kind.__name__}", path=str(path), field=key)
    return data

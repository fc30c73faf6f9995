"""Service settings from the environment, validated once at start-up.

Each bad value stops the service with a one-line error naming the variable, so a
misconfigured green never turns healthy (and the deploy rolls back).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from pytest_ragops.errors import RagopsError

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["EXAMPLES_DIR", "ServiceConfig"]

#: examples/
EXAMPLES_DIR: Final = Path(__file__).resolve().parent.parent
_COLORS: Final = ("blue", "green")
DEFAULT_CORPUS: Final = EXAMPLES_DIR / "corpus"
DEFAULT_FLAGS: Final = EXAMPLES_DIR / "flags.yaml"


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    """What one service process serves and how."""

    #: Deployment colour reported in every answer (``RAGAPP_COLOR``).
    color: str = "blue"
    #: Corpus directory or ingest JSON (``RAGAPP_CORPUS``).
    corpus: Path = DEFAULT_CORPUS
    #: Flag file (``RAGAPP_FLAGS``).
    flags: Path = DEFAULT_FLAGS
    #: Drift log (``RAGAPP_DRIFT_DB``: SQLite path or SQLAlchemy URL; ``off`` disables).
    drift_db: str | None = "drift.db"
    #: Flags per user on (``RAGAPP_FEATURES=on``) or everyone on the stable path (``off``).
    features: bool = True
    #: Bearer token for ``/admin/reindex`` (``RAGAPP_ADMIN_TOKEN``); unset disables it.
    admin_token: str | None = None
    #: Fault injection for rollback drills (``RAGAPP_FAULT_ERROR_RATE``): this fraction of
    #: identified users' requests fail with 500. Anonymous requests (health checks, the
    #: smoke eval) are never affected, so only live traffic can reveal it, as with a real bug.
    fault_error_rate: float = 0.0
    #: Longest seconds a drift row waits in memory (``RAGAPP_DRIFT_FLUSH_S``).
    drift_flush_s: float = 0.5

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ServiceConfig:
        """Read ``RAGAPP_*`` variables; raise :class:`RagopsError` naming the bad one."""
        env = os.environ if env is None else env
        color = env.get("RAGAPP_COLOR", "blue")
        if color not in _COLORS:
            raise RagopsError(f"must be blue or green, got {color!r}", path="$RAGAPP_COLOR")
        features = env.get("RAGAPP_FEATURES", "on")
        if features not in ("on", "off"):
            raise RagopsError(f"must be on or off, got {features!r}", path="$RAGAPP_FEATURES")
        drift = env.get("RAGAPP_DRIFT_DB", "drift.db")
        rate_text = env.get("RAGAPP_FAULT_ERROR_RATE", "0")
        try:
            rate = float(rate_text)
        except ValueError:
            rate = math.nan
        if not 0.0 <= rate <= 1.0:
            raise RagopsError(
                f"must be a fraction in [0, 1], got {rate_text!r}", path="$RAGAPP_FAULT_ERROR_RATE"
            )
        flush_text = env.get("RAGAPP_DRIFT_FLUSH_S", "0.5")
        try:
            flush = float(flush_text)
        except ValueError:
            flush = math.nan
        if not (math.isfinite(flush) and flush > 0):
            raise RagopsError(
                f"must be a positive number of seconds, got {flush_text!r}",
                path="$RAGAPP_DRIFT_FLUSH_S",
            )
        return cls(
            color=color,
            corpus=Path(env.get("RAGAPP_CORPUS") or DEFAULT_CORPUS),
            flags=Path(env.get("RAGAPP_FLAGS") or DEFAULT_FLAGS),
            drift_db=None if drift in ("", "off") else drift,
            features=features == "on",
            admin_token=env.get("RAGAPP_ADMIN_TOKEN") or None,
            fault_error_rate=rate,
            drift_flush_s=flush,
        )

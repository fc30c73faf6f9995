"""The stable hash that places a user in a flag's rollout, a variant or the canary.

``bucket(flag, user_id)`` is, by definition (so any language can reproduce it)::

    digest = sha256(f"{flag}:{user_id}".encode("utf-8")).digest()
    bucket = (int.from_bytes(digest[:8], "big") >> 11) / 2**53

a float in [0, 1) with 53 bits, exactly representable, so ``bucket < pct`` and the
integer comparison ``(h >> 11) < ceil(pct * 2**53)`` used on the hot path agree bit for
bit. Python's ``hash()`` is salted per process (``PYTHONHASHSEED``) and is never used:
a user must keep their bucket across processes, machines and releases. A user with
``bucket < 0.2`` also has ``bucket < 0.5``, so raising a rollout only adds users.

User ids are strings; an ``int`` is taken as its decimal string (``42`` and ``"42"`` are
the same user) and ``None`` as ``""``, the anonymous user (see :func:`user_key`).
"""

from __future__ import annotations

import math
from hashlib import sha256
from typing import TypeAlias

from pytest_ragops.errors import RagopsError

__all__ = [
    "ALL",
    "BUCKET_BITS",
    "NONE",
    "UserId",
    "bucket",
    "bucket_int",
    "digest_limit",
    "threshold",
    "user_key",
]

#: What the flag API accepts as a user id: ``None`` (and ``""``) is the anonymous user.
UserId: TypeAlias = str | int | None

#: Bits of the hash kept: 53, a float's mantissa, so buckets are exact floats.
BUCKET_BITS = 53
_SCALE = float(1 << BUCKET_BITS)
_SHIFT = 64 - BUCKET_BITS
#: Digest limits admitting everybody / nobody (see :func:`digest_limit`).
ALL = b"\xff" * 33
NONE = b""


def user_key(user_id: object) -> str:
    """Return the string a user id is hashed and matched as; ``""`` means anonymous.

    ``None`` -> ``""``; an ``int`` -> its decimal string, so ``42`` and ``"42"`` bucket the
    same and match ``42`` in an allow list; a ``bool`` or any other type is a
    :class:`RagopsError` (``True`` is not a user, and ``str()`` of an arbitrary object is
    rarely stable across processes).
    """
    if isinstance(user_id, str):
        return user_id
    if user_id is None:
        return ""
    if isinstance(user_id, int) and not isinstance(user_id, bool):
        return str(int(user_id))
    raise RagopsError(
        f"a user id must be a string, an int or None, got {type(user_id).__name__} {user_id!r}",
        field="user_id",
    )


def bucket_int(flag: str, user_id: UserId) -> int:
    """Return the integer bucket in ``[0, 2**53)`` (see the module docstring)."""
    digest = sha256(f"{flag}:{user_key(user_id)}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> _SHIFT


def bucket(flag: str, user_id: UserId) -> float:
    """Return the user's stable position in ``[0, 1)`` for ``flag``."""
    return bucket_int(flag, user_id) / _SCALE


def threshold(fraction: float) -> int:
    """Return the integer bound ``t`` with ``bucket_int(...) < t`` iff ``bucket(...) < fraction``.

    ``fraction * 2**53`` is exact (a power-of-two scaling), so rounding up keeps the two
    comparisons identical; 0 admits nobody and 1 admits everybody.
    """
    if fraction <= 0.0:
        return 0
    if fraction >= 1.0:
        return 1 << BUCKET_BITS
    return math.ceil(fraction * _SCALE)


def digest_limit(fraction: float) -> bytes:
    """Return bytes ``L`` with ``sha256(key).digest() < L`` iff ``bucket(...) < fraction``.

    The hot path compares the raw digest with ``L`` instead of building an integer: for a
    threshold ``t`` below ``2**53``, ``(h >> 11) < t`` iff ``h < t << 11`` iff the first 8
    digest bytes sort before ``(t << 11)`` as 8 big-endian bytes, and a 32-byte digest
    whose first 8 bytes equal an 8-byte ``L`` sorts after it. ``b""`` admits nobody;
    33 bytes of ``0xff`` admit everybody.
    """
    limit = threshold(fraction)
    if limit <= 0:
        return NONE
    if limit >= 1 << BUCKET_BITS:
        return ALL
    return (limit << _SHIFT).to_bytes(8, "big")

"""Record contexts parked on disk once their test has ended.

Contexts are most of a record's memory (5 KB or more each), yet after the test that made
them only the JSON report reads them, once, in order. Holding 20,000 records' contexts
until the end of a session cost more memory than everything else the session keeps, so
each finished test's contexts go to one anonymous temporary file (unlinked at creation,
gone when the process ends) and the record keeps a small :class:`SpilledContexts` view
that reads them back on demand. Gates and aggregates never touch them.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any, overload

if TYPE_CHECKING:
    from pytest_ragops.results import Record

__all__ = ["ContextSpool", "SpilledContexts", "plain"]


class ContextSpool:
    """An append-only file of UTF-8 contexts, opened on first use, closed by :meth:`close`."""

    def __init__(self, directory: str | None = None) -> None:
        self._directory = directory
        self._fh: IO[bytes] | None = None
        self._end = 0
        self._dirty = False
        #: False once writing failed (disk full, ...): records then keep their contexts.
        self.enabled = True

    def spill(self, records: Iterable[Record]) -> None:
        """Move each record's in-memory contexts to the file (already spilled ones stay)."""
        if not self.enabled:
            return
        try:
            for rec in records:
                contexts = rec.contexts
                if isinstance(contexts, SpilledContexts) or not contexts:
                    continue
                rec.contexts = self._write(contexts)
        except OSError:
            self.enabled = False  # memory instead of disk; nothing is lost

    def _write(self, contexts: Sequence[str]) -> SpilledContexts:
        if self._fh is None:
            self._fh = tempfile.TemporaryFile(dir=self._directory)  # noqa: SIM115 - kept open
        data = [c.encode("utf-8", "surrogatepass") for c in contexts]
        start = self._end
        for chunk in data:
            self._fh.write(chunk)
            self._end += len(chunk)
        self._dirty = True
        return SpilledContexts(self, start, tuple(len(d) for d in data))

    def read(self, offset: int, size: int) -> bytes:
        """``size`` bytes at ``offset``; an error names the spool rather than returning less."""
        if self._fh is None or self._fh.closed:
            raise ValueError("the contexts spool is closed: contexts are no longer readable")
        if self._dirty:
            self._fh.flush()
            self._dirty = False
        data = os.pread(self._fh.fileno(), size, offset)
        if len(data) != size:
            raise OSError(f"contexts spool: read {len(data)} of {size} bytes at {offset}")
        return data

    @property
    def size(self) -> int:
        """Bytes written so far."""
        return self._end

    def close(self) -> None:
        """Drop the file (its space is freed at once: it has no name)."""
        if self._fh is not None:
            self._fh.close()


class SpilledContexts(Sequence[str]):
    """A record's contexts, read back from a :class:`ContextSpool` when asked for."""

    __slots__ = ("_offset", "_sizes", "_spool")

    def __init__(self, spool: ContextSpool, offset: int, sizes: tuple[int, ...]) -> None:
        self._spool = spool
        self._offset = offset
        self._sizes = sizes

    def load(self) -> list[str]:
        """Every context, as the list the record was given."""
        data = self._spool.read(self._offset, sum(self._sizes))
        out: list[str] = []
        at = 0
        for size in self._sizes:
            out.append(data[at : at + size].decode("utf-8", "surrogatepass"))
            at += size
        return out

    def __len__(self) -> int:
        return len(self._sizes)

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        return self.load()[index]

    def __iter__(self) -> Iterator[str]:
        return iter(self.load())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SpilledContexts):
            return self.load() == other.load()
        if isinstance(other, list | tuple):
            return self.load() == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable-looking, as a list

    def __repr__(self) -> str:
        return f"SpilledContexts({len(self._sizes)} contexts, {sum(self._sizes)} bytes)"


def plain(value: Any) -> Any:
    """JSON encoders' ``default``: spilled contexts become a list, anything else is refused."""
    if isinstance(value, SpilledContexts):
        return value.load()
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")

"""Exceptions shared by the plugin, the library and the ``ragops`` CLI.

Every error a user can cause by bad input is a :class:`RagopsError` that names the
file and the field at fault, so the CLI and the plugin can turn it into one line
(``ragops: error: cases.yaml: case 3: field 'question' is missing``) with no traceback.
"""

from __future__ import annotations

__all__ = ["RagopsError", "RagopsUsageError", "RagopsWarning"]


class RagopsError(ValueError):
    """Bad input or a failed precondition, reported as one line.

    A ``ValueError`` subclass, so ``except ValueError`` catches bad values passed to the
    Python API as users of the standard library expect.

    :param message: what is wrong and, where possible, how to fix it.
    :param path: the file (or option, or URL) at fault, if any.
    :param field: the field inside it (``case 3: field 'question'``), if any.
    """

    def __init__(self, message: str, *, path: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        #: The file, option or resource the error is about.
        self.path = path
        #: The field inside ``path`` that is at fault.
        self.field = field
        #: The bare message, without the location prefix.
        self.message = message

    def __str__(self) -> str:
        parts = [p for p in (self.path, self.field) if p]
        parts.append(self.message)
        return ": ".join(parts)


class RagopsUsageError(RagopsError):
    """A bad option or configuration value: pytest turns it into a usage error (exit 4)."""


class RagopsWarning(UserWarning):
    """Base class of the warnings pytest-ragops emits."""

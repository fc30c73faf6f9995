"""The ``ragops`` command: thin sub-commands over the library.

``main(argv)`` never reads ``sys.argv`` and returns the exit status: 0 ok, 1 a check
failed, 2 usage or bad input. Each sub-command lives in ``pytest_ragops.commands.<name>``
with a ``register(subparsers)`` function that adds its parser and sets ``handler``
(``handler(args) -> int``); heavy imports happen inside handlers, so ``ragops --help``
stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import TYPE_CHECKING, NoReturn

from pytest_ragops.errors import RagopsError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["entrypoint", "main", "main_parser"]

#: Sub-command modules, in the order ``--help`` lists them.
COMMANDS = (
    "compare", "comment", "report", "cases", "judge", "cache", "sync", "corpus", "drift",
    "flags",
)  # fmt: skip


def main_parser(prog: str | None = "ragops") -> argparse.ArgumentParser:
    """Build the argument parser (kept separate from :func:`main` so it can be tested)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Operations tooling for RAG and LLM apps: reports, corpus, drift and flags.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        module = importlib.import_module(f"pytest_ragops.commands.{name}")
        module.register(sub)
    return parser


def _version() -> str:
    from pytest_ragops import __version__

    return str(__version__)


def _error(message: str, code: int = 2) -> NoReturn:
    print(f"ragops: error: {message}", file=sys.stderr)
    raise SystemExit(code)


def main(argv: Sequence[str] | None = None, prog: str | None = "ragops") -> int:
    """Run one sub-command and return its exit status."""
    parser = main_parser(prog)
    args = parser.parse_args(list(argv) if argv is not None else None)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except RagopsError as exc:
        _error(str(exc))
    except KeyboardInterrupt:
        _error("interrupted", 130)
    except BrokenPipeError:
        # `ragops ... | head`: the reader left. Point stdout at devnull so the
        # interpreter's final flush does not print a second traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 2
    except (OSError, ValueError, TypeError, KeyError, LookupError) as exc:
        # Not ragops' own error, but still bad input or environment: one line, no traceback.
        _error(f"{exc.__class__.__name__}: {exc}")


def entrypoint() -> None:
    """Console-script shim for ``ragops``."""
    sys.exit(main(sys.argv[1:]))


if __name__ == "__main__":  # pragma: no cover
    entrypoint()

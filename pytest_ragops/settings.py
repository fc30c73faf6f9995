"""One frozen settings object, merged once from the command line, ``[tool.ragops]`` and defaults.

Every option can also be set in ``[tool.ragops]`` of the project's pyproject.toml (key =
option name without ``--ragops-``; thresholds in a ``[tool.ragops.thresholds]`` table;
relative paths resolve against that file's directory). The command line wins.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_ragops.errors import RagopsUsageError
from pytest_ragops.gates import Gate, parse_gates, parse_threshold
from pytest_ragops.pyproject import pyproject_path

if TYPE_CHECKING:
    import pytest

__all__ = ["JUDGES", "Settings", "load_pyproject", "settings_from_config"]

#: Values accepted by ``--ragops-judge`` in this release.
JUDGES = ("auto", "offline")

_KNOWN_KEYS = frozenset(
    {"eval", "judge", "concurrency", "thresholds", "report", "markdown", "baseline", "corpus"}
    | {"mlflow", "experiment", "mlflow_traces"}  # pytest_ragops.tracking (issue 10)
)


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the plugin needs to know about this run."""

    eval: bool = False
    judge: str = "auto"
    concurrency: int = 8
    thresholds: tuple[Gate, ...] = ()
    report: Path = Path(".ragops/report.json")
    markdown: Path = Path(".ragops/report.md")
    baseline: Path | None = None
    #: Where the corpus version comes from (``.dvc`` file, ``dvc.lock`` or tracked dir).
    corpus: str | None = None
    #: The project root, where reports and corpus lookups are anchored.
    root: Path = field(default_factory=Path.cwd)

    def resolved_judge(self) -> str:
        """The judge ``auto`` stands for: offline until an LLM judge is available."""
        return "offline" if self.judge == "auto" else self.judge


def load_pyproject(path: Path) -> dict[str, Any]:
    """Return the ``[tool.ragops]`` table of ``path`` ({} when absent)."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise RagopsUsageError(f"invalid TOML: {exc}", path=str(path)) from None
    table = data.get("tool", {}).get("ragops", {})
    if not isinstance(table, dict):
        raise RagopsUsageError("must be a table", path=str(path), field="tool.ragops")
    unknown = sorted(set(table) - _KNOWN_KEYS)
    if unknown:
        raise RagopsUsageError(
            f"unknown key {unknown[0]!r} (known: {', '.join(sorted(_KNOWN_KEYS))})",
            path=str(path),
            field="tool.ragops",
        )
    return table


def _concurrency(value: object, source: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise RagopsUsageError(
            f"must be a whole number >= 1, got {value!r}", path=source, field="concurrency"
        )
    try:
        n = int(value)
    except ValueError:
        raise RagopsUsageError(
            f"must be a whole number >= 1, got {value!r}", path=source, field="concurrency"
        ) from None
    if n < 1:
        raise RagopsUsageError(
            f"must be a whole number >= 1, got {value!r}", path=source, field="concurrency"
        )
    return n


def _path(value: object, base: Path, source: str, key: str) -> Path:
    if not isinstance(value, str) or not value:
        raise RagopsUsageError(f"must be a path string, got {value!r}", path=source, field=key)
    p = Path(value)
    return p if p.is_absolute() else base / p


def settings_from_config(config: pytest.Config) -> Settings:
    """Merge pytest's parsed options with ``[tool.ragops]``; raise on any bad value."""
    pyproject = pyproject_path(config)
    table = load_pyproject(pyproject)
    src = str(pyproject)
    base = pyproject.parent
    opt = config.option

    judge = opt.ragops_judge or table.get("judge", "auto")
    if judge not in JUDGES:
        where = "--ragops-judge" if opt.ragops_judge else src
        raise RagopsUsageError(
            f"unknown judge {judge!r} (choose from {', '.join(JUDGES)})", path=where, field="judge"
        )

    if opt.ragops_concurrency is not None:
        concurrency = _concurrency(opt.ragops_concurrency, "--ragops-concurrency")
    else:
        concurrency = _concurrency(table.get("concurrency", 8), src)

    raw_thresholds = table.get("thresholds", {})
    if not isinstance(raw_thresholds, dict):
        raise RagopsUsageError("must be a table of METRIC = VALUE", path=src, field="thresholds")
    gates: dict[str, Gate] = {g.key: g for g in parse_gates(raw_thresholds, f"{src}: thresholds")}
    for text in opt.ragops_threshold or []:
        gate = parse_threshold(text)
        gates[gate.key] = gate  # the command line wins over pyproject, key by key

    cwd = Path.cwd()

    def pick(name: str, default: str | None) -> Path | None:
        cli = getattr(opt, f"ragops_{name}")
        if cli:
            return _path(cli, cwd, f"--ragops-{name}", name)
        if name in table:
            return _path(table[name], base, src, name)
        return None if default is None else base / default

    corpus = table.get("corpus")
    if corpus is not None and not isinstance(corpus, str):
        raise RagopsUsageError(f"must be a path string, got {corpus!r}", path=src, field="corpus")
    eval_value = table.get("eval", False)
    if not isinstance(eval_value, bool):
        raise RagopsUsageError(f"must be true or false, got {eval_value!r}", path=src, field="eval")
    eval_on = bool(opt.ragops_eval) or eval_value
    report = pick("report", ".ragops/report.json")
    markdown = pick("markdown", ".ragops/report.md")
    assert report is not None
    assert markdown is not None
    return Settings(
        eval=eval_on,
        judge=judge,
        concurrency=concurrency,
        thresholds=tuple(gates.values()),
        report=report,
        markdown=markdown,
        baseline=pick("baseline", None),
        corpus=corpus,
        root=base,
    )

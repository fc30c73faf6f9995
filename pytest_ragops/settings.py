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
from pytest_ragops.gates import Gate, merge_gates, parse_gates, parse_threshold
from pytest_ragops.judge.base import QUALITY_METRICS
from pytest_ragops.judge.registry import JUDGE_NAMES, describe_auto, resolve_judge_name
from pytest_ragops.pyproject import pyproject_path

if TYPE_CHECKING:
    from collections.abc import Mapping

    import pytest

    from pytest_ragops.judge.options import JudgeSettings
    from pytest_ragops.pricing import Price

__all__ = ["JUDGES", "Settings", "load_pyproject", "settings_from_config"]

#: Values accepted by ``--ragops-judge`` (defined once, in the judge registry).
JUDGES = JUDGE_NAMES


def _judge_keys() -> frozenset[str]:
    from pytest_ragops.judge.options import PYPROJECT_KEYS

    return frozenset(PYPROJECT_KEYS)


_KNOWN_KEYS = frozenset(
    {
        "eval", "judge", "concurrency", "thresholds", "report", "markdown", "baseline",
        "corpus", "prices",
        "mlflow", "experiment", "mlflow_traces",  # pytest_ragops.tracking
    }
) | _judge_keys()  # fmt: skip


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the plugin needs to know about this run."""

    eval: bool = False
    judge: str = "auto"
    concurrency: int = 8
    thresholds: tuple[Gate, ...] = ()
    report: Path = Path(".ragops/report.json")
    markdown: Path = Path(".ragops/report.md")
    #: An earlier report: a path, or a tracking spec such as ``mlflow:branch=main``.
    baseline: Path | str | None = None
    #: Where the corpus version comes from (``.dvc`` file, ``dvc.lock`` or tracked dir).
    corpus: str | None = None
    #: The project root, where reports and corpus lookups are anchored.
    root: Path = field(default_factory=Path.cwd)
    #: Quality metrics to judge, in canonical order.
    metrics: tuple[str, ...] = QUALITY_METRICS
    #: Model prices: the built-in table overridden by ``[tool.ragops.prices]``.
    prices: Mapping[str, Price] | None = None
    #: The whole ``[tool.ragops]`` table, for sub-plugins that read their own keys.
    raw_pyproject: Mapping[str, Any] = field(default_factory=dict)
    #: Where ``raw_pyproject`` came from.
    pyproject: Path | None = None
    #: Judge model, cache, repeats and budget (``pytest_ragops.judge.options``).
    judge_options: JudgeSettings | None = None

    @property
    def judge_repeats(self) -> int:
        """How many times each case is judged (``--ragops-judge-repeats``)."""
        return 1 if self.judge_options is None else self.judge_options.judge_repeats

    def resolved_judge(self) -> str:
        """The judge ``auto`` stands for (see :mod:`pytest_ragops.judge.registry`)."""
        return resolve_judge_name(self.judge)

    def judge_description(self) -> str:
        """The judge and, for ``auto``, why it was chosen; for the report header."""
        return describe_auto(self.judge)


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
    from_file = parse_gates(raw_thresholds, f"{src}: thresholds")
    from_cli = merge_gates(parse_threshold(t) for t in opt.ragops_threshold or [])
    # The command line wins over pyproject per aggregate (faithfulness == faithfulness_mean).
    gates: list[Gate] = merge_gates(from_file, from_cli)

    prices = None
    if "prices" in table:
        from pytest_ragops.pricing import parse_prices

        prices = parse_prices(table["prices"], src)

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
    from pytest_ragops.judge.options import judge_settings

    judge_options = judge_settings(vars(opt), table, base)
    return Settings(
        eval=eval_on,
        metrics=judge_options.metrics,
        judge_options=judge_options,
        judge=judge,
        concurrency=concurrency,
        thresholds=tuple(gates),
        report=report,
        markdown=markdown,
        baseline=_baseline(opt.ragops_baseline, table.get("baseline"), cwd, base, src),
        corpus=corpus,
        root=base,
        prices=prices,
        raw_pyproject=dict(table),
        pyproject=pyproject,
    )


def _baseline(
    cli: str | None, file_value: object, cwd: Path, base: Path, src: str
) -> Path | str | None:
    """A baseline path, or a ``scheme:spec`` string (``mlflow:branch=main``) kept as is."""
    for value, where, anchor in ((cli, "--ragops-baseline", cwd), (file_value, src, base)):
        if value is None or value == "":
            continue
        if isinstance(value, str) and value.startswith("mlflow:"):
            return value
        return _path(value, anchor, where, "baseline")
    return None


def check_writable(path: Path, option: str) -> None:
    """Fail before any test when a report could not be written there (exit 4, one line).

    Creates nothing: the nearest existing ancestor must be a writable directory and
    nothing on the way may be a file.
    """
    import os

    if path.is_dir():
        raise RagopsUsageError("is a directory, not a file", path=str(path), field=option)
    parent = path.parent
    while not parent.exists():
        if parent.parent == parent:
            break
        parent = parent.parent
    if not parent.is_dir():
        raise RagopsUsageError(
            f"cannot write the report there ({parent} is not a directory)",
            path=str(path),
            field=option,
        )
    if not os.access(parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise RagopsUsageError(
            "cannot write the report there (permission denied)", path=str(path), field=option
        )

"""Human-labelled answers: load and validate a labels file for ``ragops judge agreement``.

A labels file is YAML with ``items``: each one answer to one question over its retrieved
contexts, with a human label per metric in [0, 1]. The shipped set lives next to this
module (:data:`SHIPPED_LABELS`). Every field is checked, and a bad one is a
:class:`~pytest_ragops.errors.RagopsError` naming the file and the field, so the CLI
prints one line and exits 2.

An item's split is its own ``split`` field, else the file's top-level ``split`` (the
shipped test files say ``split: test`` once), else :func:`split_of`, a rule on sha256
of the item ids (never Python's ``hash()``, which changes between processes).
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from pytest_ragops.errors import RagopsError
from pytest_ragops.judge.base import QUALITY_METRICS, Sample

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "SHIPPED",
    "SHIPPED_HELDOUT",
    "SHIPPED_HELDOUT2",
    "SHIPPED_HELDOUT3",
    "SHIPPED_HELDOUT4",
    "SHIPPED_HELDOUT5",
    "SHIPPED_HELDOUT6",
    "SHIPPED_HELDOUT7",
    "SHIPPED_HELDOUT8",
    "SHIPPED_HELDOUT9",
    "SHIPPED_HELDOUT10",
    "SHIPPED_HELDOUT11",
    "SHIPPED_LABELS",
    "SHIPPED_TEST",
    "SHIPPED_TUNE",
    "SHIPPED_TUNE2",
    "SPLITS",
    "LabelledItem",
    "load_label_files",
    "load_labels",
    "split_of",
]

_DATA: Final = Path(__file__).with_name("data")
#: The human-labelled tune set shipped with the package (the rules were tuned on it).
SHIPPED_LABELS: Final = _DATA / "labels.yaml"
#: The first held-out set (61 items): written blind by another author and scored once
#: after a freeze; its failures were then read and acted on, so it is tune data now.
SHIPPED_HELDOUT: Final = _DATA / "heldout.yaml"
#: More tune data (92 items, four more domains), written blind to the rules by another
#: author, so the rules are tuned on text their author did not write.
SHIPPED_TUNE2: Final = _DATA / "tune2.yaml"
#: Two blind sets written for the first redesign's test split (89 and 92 items, eight
#: domains), scored once after its freeze; their failures were then read and acted on,
#: so they are tune data now.
SHIPPED_HELDOUT2: Final = _DATA / "heldout2.yaml"
SHIPPED_HELDOUT3: Final = _DATA / "heldout3.yaml"
#: Three blind sets written for the second redesign's test split (80 items each, twelve
#: domains), scored once after its freeze, then read and acted on: tune data now.
SHIPPED_HELDOUT4: Final = _DATA / "heldout4.yaml"
SHIPPED_HELDOUT5: Final = _DATA / "heldout5.yaml"
SHIPPED_HELDOUT6: Final = _DATA / "heldout6.yaml"
#: The test split: five blind sets of 80 items in twenty domains the rules never saw,
#: written without reading the rules, docs, tune data or scores, and scored once after
#: the rules were frozen. Whoever next changes the rules must not read them.
SHIPPED_HELDOUT7: Final = _DATA / "heldout7.yaml"
SHIPPED_HELDOUT8: Final = _DATA / "heldout8.yaml"
SHIPPED_HELDOUT9: Final = _DATA / "heldout9.yaml"
SHIPPED_HELDOUT10: Final = _DATA / "heldout10.yaml"
SHIPPED_HELDOUT11: Final = _DATA / "heldout11.yaml"
#: The tune files, then the test files.
SHIPPED_TUNE: Final = (
    SHIPPED_LABELS,
    SHIPPED_HELDOUT,
    SHIPPED_TUNE2,
    SHIPPED_HELDOUT2,
    SHIPPED_HELDOUT3,
    SHIPPED_HELDOUT4,
    SHIPPED_HELDOUT5,
    SHIPPED_HELDOUT6,
)
SHIPPED_TEST: Final = (
    SHIPPED_HELDOUT7,
    SHIPPED_HELDOUT8,
    SHIPPED_HELDOUT9,
    SHIPPED_HELDOUT10,
    SHIPPED_HELDOUT11,
)
#: What ``ragops judge agreement shipped`` reads: eight tune files, then the test split.
SHIPPED: Final = (*SHIPPED_TUNE, *SHIPPED_TEST)
#: The two splits of a labels file.
SPLITS: Final = ("tune", "test")

_REQUIRED: Final = ("id", "kind", "question", "answer", "contexts", "labels")
_KNOWN: Final = frozenset((*_REQUIRED, "domain", "split", "reference", "reference_contexts"))
_TOP_KNOWN: Final = frozenset(
    ("version", "split", "split_rule", "passages", "items", "description", "author")
)


@dataclass(frozen=True, slots=True)
class LabelledItem:
    """One human-labelled answer."""

    id: str
    domain: str
    kind: str
    split: str
    sample: Sample
    #: Human label per metric, in [0, 1]; 1 = the metric's property holds.
    labels: Mapping[str, float]


def split_of(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The split of each ``(id, kind)``: within a kind, every third id by sha256 is ``test``.

    Stratified by kind, so each kind has a third of its items (rounded up) held out.
    """
    by_kind: dict[str, list[str]] = defaultdict(list)
    for item_id, kind in items:
        by_kind[kind].append(item_id)
    split: dict[str, str] = {}
    for ids in by_kind.values():
        ranked = sorted(ids, key=lambda i: hashlib.sha256(i.encode("utf-8")).hexdigest())
        for index, item_id in enumerate(ranked):
            split[item_id] = "test" if index % 3 == 0 else "tune"
    return split


def load_labels(path: Path) -> list[LabelledItem]:
    """Load and validate a labels file; items without ``split`` get :func:`split_of`'s.

    :raises RagopsError: the file is missing or unreadable, or a field is bad.
    """
    import yaml

    where = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RagopsError(f"cannot read labels file ({exc.strerror})", path=where) from exc
    except yaml.YAMLError as exc:
        raise RagopsError(f"not valid YAML ({_first_line(exc)})", path=where) from exc
    if not isinstance(data, dict):
        raise RagopsError("expected a mapping with an 'items' list", path=where)
    unknown = sorted(set(data) - _TOP_KNOWN, key=str)
    if unknown:
        raise RagopsError(f"unknown top-level field {unknown[0]!r}", path=where)
    raw_items = data.get("items")
    if not isinstance(raw_items, list) or not raw_items:
        raise RagopsError("field 'items' must be a non-empty list", path=where)
    parsed = [_item(where, i, raw) for i, raw in enumerate(raw_items, start=1)]
    seen: set[str] = set()
    for index, (item_id, *_rest) in enumerate(parsed, start=1):
        if item_id in seen:
            raise RagopsError(f"duplicate id {item_id!r}", path=where, field=f"item {index}: id")
        seen.add(item_id)
    default = data.get("split")
    if default is not None and default not in SPLITS:
        raise RagopsError(
            f"field 'split' must be one of {', '.join(SPLITS)}, got {default!r}", path=where
        )
    rule = split_of((p[0], p[2]) for p in parsed)
    return [
        LabelledItem(
            id=item_id,
            domain=domain,
            kind=kind,
            split=split or default or rule[item_id],
            sample=sample,
            labels=labels,
        )
        for item_id, domain, kind, split, sample, labels in parsed
    ]


def load_label_files(paths: Iterable[Path]) -> list[LabelledItem]:
    """Load several labels files as one set (the shipped tune and held-out files).

    :raises RagopsError: a bad file or field, or an id used in two files.
    """
    items: list[LabelledItem] = []
    where: dict[str, Path] = {}
    for path in paths:
        for item in load_labels(path):
            if item.id in where:
                raise RagopsError(
                    f"duplicate id {item.id!r} (also in {where[item.id]})", path=str(path)
                )
            where[item.id] = path
            items.append(item)
    return items


_Parsed = tuple[str, str, str, str | None, Sample, dict[str, float]]


def _item(where: str, index: int, raw: Any) -> _Parsed:
    at = f"item {index}"
    if not isinstance(raw, dict):
        raise RagopsError("must be a mapping", path=where, field=at)
    if isinstance(raw.get("id"), str) and raw["id"].strip():
        at = f"item {index} ({raw['id']})"
    for name in _REQUIRED:
        if name not in raw:
            raise RagopsError(f"field {name!r} is missing", path=where, field=at)
    unknown = sorted(set(raw) - _KNOWN, key=str)
    if unknown:
        raise RagopsError(f"unknown field {unknown[0]!r}", path=where, field=at)

    def text(name: str, *, empty_ok: bool = False) -> str:
        value = raw.get(name)
        if not isinstance(value, str) or (not empty_ok and not value.strip()):
            raise RagopsError(f"field {name!r} must be a non-empty string", path=where, field=at)
        return value

    def texts(name: str) -> tuple[str, ...]:
        value = raw.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise RagopsError(f"field {name!r} must be a list of strings", path=where, field=at)
        return tuple(value)

    split = raw.get("split")
    if split is not None and split not in SPLITS:
        raise RagopsError(
            f"field 'split' must be one of {', '.join(SPLITS)}, got {split!r}",
            path=where,
            field=at,
        )
    reference = raw.get("reference")
    if reference is not None and not isinstance(reference, str):
        raise RagopsError("field 'reference' must be a string", path=where, field=at)
    sample = Sample(
        question=text("question"),
        answer=text("answer", empty_ok=True),
        contexts=texts("contexts"),
        reference=reference,
        reference_contexts=texts("reference_contexts"),
    )
    return (
        text("id"),
        text("domain") if "domain" in raw else "",
        text("kind"),
        split,
        sample,
        _labels(where, at, raw["labels"]),
    )


def _labels(where: str, at: str, raw: Any) -> dict[str, float]:
    if not isinstance(raw, dict) or not raw:
        raise RagopsError("field 'labels' must be a non-empty mapping", path=where, field=at)
    labels: dict[str, float] = {}
    for metric, value in raw.items():
        field = f"{at}: field 'labels.{metric}'"
        if metric not in QUALITY_METRICS:
            raise RagopsError(
                f"unknown metric; choose from {', '.join(QUALITY_METRICS)}", path=where, field=field
            )
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or not 0.0 <= value <= 1.0
        ):
            raise RagopsError(f"must be a number in [0, 1], got {value!r}", path=where, field=field)
        labels[metric] = float(value)
    return labels


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__

"""Feature flags, canary routing and verdicts, index hot-swap, OpenFeature provider.

Cheap to import: YAML, scipy and openfeature load on first use. See ``docs/flags.md``.
"""

from __future__ import annotations

from pytest_ragops.flags.ab import ABReport, ab_report, assign_arms
from pytest_ragops.flags.bucketing import bucket
from pytest_ragops.flags.canary import (
    CanaryJudge,
    CanaryRouter,
    CanaryVerdict,
    MetricRule,
    ProgressiveRollout,
)
from pytest_ragops.flags.flag import Evaluation, Flag
from pytest_ragops.flags.openfeature import make_provider
from pytest_ragops.flags.overrides import FlagOverrides
from pytest_ragops.flags.store import (
    FeatureFlags,
    UnknownFlagWarning,
    clear_flags_cache,
    is_enabled,
    load_flags,
    variant,
)
from pytest_ragops.flags.swap import BlueGreenSwitch, IndexSwapper, SwitchResult, http_health_check

__all__ = [
    "ABReport",
    "BlueGreenSwitch",
    "CanaryJudge",
    "CanaryRouter",
    "CanaryVerdict",
    "Evaluation",
    "FeatureFlags",
    "Flag",
    "FlagOverrides",
    "IndexSwapper",
    "MetricRule",
    "ProgressiveRollout",
    "SwitchResult",
    "UnknownFlagWarning",
    "ab_report",
    "assign_arms",
    "bucket",
    "clear_flags_cache",
    "http_health_check",
    "is_enabled",
    "load_flags",
    "make_provider",
    "variant",
]

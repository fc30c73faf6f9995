"""An OpenFeature provider backed by the ragops flag store.

Apps written against the vendor-neutral OpenFeature API get the same answers as
:func:`pytest_ragops.flags.is_enabled`: the evaluation context's ``targeting_key`` is the
user id. Booleans resolve to on/off, strings to the user's variant (the default when the
flag is off for them). The ``openfeature`` package is imported on first use only::

    from openfeature import api
    from pytest_ragops.flags.openfeature import make_provider

    api.set_provider(make_provider("flags.yaml"))
    api.get_client().get_boolean_value("new_prompt_v3", False, EvaluationContext("user-42"))
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from pytest_ragops.errors import RagopsError
from pytest_ragops.flags.store import FeatureFlags, load_flags

if TYPE_CHECKING:
    import os

    from openfeature.provider import AbstractProvider

__all__ = ["PROVIDER_NAME", "make_provider"]

#: Name the provider reports in its OpenFeature metadata.
PROVIDER_NAME = "pytest-ragops flags"


def make_provider(flags: FeatureFlags | str | os.PathLike[str] | None = None) -> AbstractProvider:
    """Return an OpenFeature provider over ``flags``.

    :param flags: a store, a flag file (re-read when it changes), or ``None`` for the default
        file (``$RAGOPS_FLAGS`` or ``flags.yaml``), as the module-level ``is_enabled`` uses.
    """
    return _provider_class()(flags)


def __getattr__(name: str) -> Any:
    # ``RagopsFlagProvider`` subclasses openfeature's AbstractProvider, so it is built on
    # first access instead of at import time.
    if name == "RagopsFlagProvider":
        return _provider_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.cache
def _provider_class() -> type[AbstractProvider]:
    from openfeature.exception import ErrorCode
    from openfeature.flag_evaluation import FlagResolutionDetails, Reason
    from openfeature.provider import AbstractProvider, Metadata

    if TYPE_CHECKING:
        from openfeature.evaluation_context import EvaluationContext

    reasons = {
        "disabled": Reason.DISABLED,
        "deny": Reason.TARGETING_MATCH,
        "allow": Reason.TARGETING_MATCH,
        "override": Reason.STATIC,
        "anonymous": Reason.DEFAULT,
        "rollout": Reason.SPLIT,
    }

    class RagopsFlagProvider(AbstractProvider):
        """OpenFeature provider answering from a :class:`FeatureFlags` store."""

        def __init__(self, flags: FeatureFlags | str | os.PathLike[str] | None = None) -> None:
            super().__init__()
            self._flags = flags

        def _store(self) -> FeatureFlags:
            if isinstance(self._flags, FeatureFlags):
                return self._flags
            return load_flags(self._flags)

        def get_metadata(self) -> Metadata:
            return Metadata(name=PROVIDER_NAME)

        def _resolve(
            self, flag_key: str, default: Any, context: EvaluationContext | None, kind: str
        ) -> FlagResolutionDetails[Any]:
            user = (context.targeting_key if context is not None else None) or ""
            try:
                store = self._store()
            except RagopsError as exc:
                return FlagResolutionDetails(
                    default, ErrorCode.GENERAL, str(exc), reason=Reason.ERROR
                )
            if store.get(flag_key) is None:
                where = store.path or "the flag store"
                return FlagResolutionDetails(
                    default,
                    ErrorCode.FLAG_NOT_FOUND,
                    f"flag {flag_key!r} is not defined in {where}",
                    reason=Reason.ERROR,
                )
            result = store.explain(flag_key, user)
            if kind == "bool":
                value: Any = result.enabled
            else:
                value = result.variant if result.enabled else default
            return FlagResolutionDetails(
                value,
                reason=reasons[result.reason],
                variant=result.variant or "off",
                flag_metadata={"bucket": result.bucket},
            )

        def _mismatch(self, flag_key: str, default: Any, kind: str) -> FlagResolutionDetails[Any]:
            return FlagResolutionDetails(
                default,
                ErrorCode.TYPE_MISMATCH,
                f"ragops flags are boolean (or string variants), not {kind}: {flag_key!r}",
                reason=Reason.ERROR,
            )

        def resolve_boolean_details(
            self,
            flag_key: str,
            default_value: bool,
            evaluation_context: EvaluationContext | None = None,
        ) -> FlagResolutionDetails[bool]:
            return self._resolve(flag_key, default_value, evaluation_context, "bool")

        def resolve_string_details(
            self,
            flag_key: str,
            default_value: str,
            evaluation_context: EvaluationContext | None = None,
        ) -> FlagResolutionDetails[str]:
            return self._resolve(flag_key, default_value, evaluation_context, "string")

        def resolve_integer_details(
            self,
            flag_key: str,
            default_value: int,
            evaluation_context: EvaluationContext | None = None,
        ) -> FlagResolutionDetails[int]:
            return self._mismatch(flag_key, default_value, "integer")

        def resolve_float_details(
            self,
            flag_key: str,
            default_value: float,
            evaluation_context: EvaluationContext | None = None,
        ) -> FlagResolutionDetails[float]:
            return self._mismatch(flag_key, default_value, "float")

        def resolve_object_details(
            self,
            flag_key: str,
            default_value: Any,
            evaluation_context: EvaluationContext | None = None,
        ) -> FlagResolutionDetails[Any]:
            return self._mismatch(flag_key, default_value, "object")

    return RagopsFlagProvider

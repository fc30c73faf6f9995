"""Acceptance tests run pytest in-process (pytester), which restores ``sys.modules`` after
each inner run. C extensions such as numpy cannot be imported twice in one process, so
load the ones the plugin imports lazily here, once, before any inner run."""

from __future__ import annotations

import numpy
import orjson
import scipy.stats

PRELOADED = (numpy, orjson, scipy.stats)

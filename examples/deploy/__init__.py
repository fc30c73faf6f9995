"""Blue-green and canary deploys of the example service behind nginx.

``python examples/deploy/bluegreen.py --help``; see ``docs/deploy.md``.
"""

from __future__ import annotations

__all__: list[str] = []

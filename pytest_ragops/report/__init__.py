"""Report rendering: pure functions from report data to text; hooks and the CLI write it."""

from __future__ import annotations

from pytest_ragops.report.markdown import render_markdown
from pytest_ragops.report.model import REPORT_VERSION, build_report, load_report, write_report
from pytest_ragops.report.terminal import render_gates, render_table

__all__ = [
    "REPORT_VERSION",
    "build_report",
    "load_report",
    "render_gates",
    "render_markdown",
    "render_table",
    "write_report",
]

"""Fixtures: the loopback Messages API server and judges pointed at it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import ModuleType

    from tests.integration.judge.messages_server import MessagesServer


def load_server_module() -> ModuleType:
    """The server module, loaded by path (test directories are not packages)."""
    name = "ragops_test_messages_server"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).with_name("messages_server.py")
        )
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture
def server_module() -> ModuleType:
    return load_server_module()


@pytest.fixture
def messages_server(server_module: ModuleType) -> Iterator[MessagesServer]:
    with server_module.MessagesServer() as server:
        yield server

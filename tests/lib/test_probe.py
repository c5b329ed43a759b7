"""probe(): a clear answer for dead, silent and wrong ports without the idle timeout."""

from __future__ import annotations

from collections.abc import Iterator
import os
from pathlib import Path
import socket
import tty

import pytest

from custom_components.victron_mk3.vebus_mk3 import ProbeStatus, probe

# Two version requests of 0.5 s each plus opening the port.
PROBE_BUDGET = 1.5


@pytest.fixture
def silent_pty() -> Iterator[str]:
    """A real pty nobody answers on: an interface whose Multi sleeps."""
    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        yield os.ttyname(slave)
    finally:
        os.close(master)
        os.close(slave)


async def test_missing_path_is_inaccessible(tmp_path: Path) -> None:
    result = await probe(str(tmp_path / "ttyUSB9"))
    assert result.status is ProbeStatus.INACCESSIBLE
    assert "ttyUSB9" in result.detail
    assert not result.ok
    assert result.elapsed < PROBE_BUDGET


async def test_silent_port_is_unresponsive(silent_pty: str) -> None:
    result = await probe(silent_pty)
    assert result.status is ProbeStatus.UNRESPONSIVE
    assert "asleep" in result.detail
    assert result.version is None
    assert result.elapsed < PROBE_BUDGET


async def test_closed_tcp_port_is_inaccessible() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = await probe(f"socket://127.0.0.1:{port}")
    assert result.status is ProbeStatus.INACCESSIBLE


async def test_a_file_that_is_not_a_tty(tmp_path: Path) -> None:
    path = tmp_path / "not-a-port"
    path.write_text("hello")
    result = await probe(str(path))
    assert result.status in (ProbeStatus.INACCESSIBLE, ProbeStatus.IO_ERROR)

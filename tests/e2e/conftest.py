"""End-to-end fixtures: a real Home Assistant process and the simulated device in this process.

The simulator runs here (its own thread), so the test can look at what the device received and
pull its USB cable; Home Assistant runs as ``python -m homeassistant`` on a fresh configuration
directory made from ``develop/`` (the one scripts/develop uses) and is reached over HTTP only.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from custom_components.victron_mk3.vebus_mk3.simulator import SimulatorThread
from scripts.lib.hassdev import (
    HomeAssistantClient,
    HomeAssistantProcess,
    free_port,
    prepare_config_dir,
    start_and_connect,
)


def pytest_configure(config: pytest.Config) -> None:
    """``scripts/test -m "not e2e"`` skips the half minute this takes."""
    config.addinivalue_line("markers", "e2e: boots a real Home Assistant process (about 30 s)")


@pytest.fixture(autouse=True)
def _loopback_sockets(socket_enabled: None) -> None:
    """The HA test plugin blocks sockets; Home Assistant is reached over loopback HTTP."""


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[SimulatorThread]:
    """The MK3 + MultiPlus-II behind a real pty at the real 2400 baud (the integration samples at
    wire speed); time_scale 0 freezes the battery for exact comparisons."""
    sim = SimulatorThread(link=str(tmp_path / "ttyMK3"), paced=True, time_scale=0.0)
    sim.start()
    yield sim
    sim.stop()


@dataclass
class HomeAssistant:
    """The running process and a logged-in API client."""

    process: HomeAssistantProcess
    api: HomeAssistantClient
    onboarded: bool


@pytest.fixture
async def home_assistant(tmp_path: Path) -> AsyncIterator[HomeAssistant]:
    """A real Home Assistant, onboarded through its API; stopped (and its exit code checked) afterwards."""
    config_dir = tmp_path / "config"
    url = f"http://127.0.0.1:{(port := free_port())}"
    prepare_config_dir(config_dir, "127.0.0.1", port)
    process = HomeAssistantProcess(config_dir)
    async with aiohttp.ClientSession() as session:
        api = HomeAssistantClient(session, url)
        try:
            onboarded = await start_and_connect(process, api)
            yield HomeAssistant(process, api, onboarded)
        finally:
            await api.close()
            code = await asyncio.to_thread(process.stop)
            # Shown by pytest only when the test fails.
            print(f"Home Assistant exited with {code}; {process.log_path} ends:\n{process.log_tail(60)}")
    assert code == 0, f"Home Assistant exited with code {code}"

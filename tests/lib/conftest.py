"""Library tests talk over real ptys and loopback TCP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from custom_components.victron_mk3.vebus_mk3 import Mk3Client
from custom_components.victron_mk3.vebus_mk3.simulator import MultiplusModel, Simulator


@pytest.fixture(autouse=True)
def _loopback_sockets(socket_enabled: None) -> None:
    """The HA test plugin blocks sockets; the simulator's TCP transport needs loopback."""


@pytest.fixture
def model() -> MultiplusModel:
    """The simulated unit; a test module overrides this fixture to simulate another one."""
    return MultiplusModel()


@pytest.fixture
async def sim(tmp_path: Path, model: MultiplusModel) -> AsyncIterator[Simulator]:
    """A simulated MK3 + Multiplus II on a real pty, its battery frozen for exact comparisons."""
    simulator = Simulator(model, link=str(tmp_path / "ttyMK3"), time_scale=0.0)
    async with simulator:
        yield simulator


@pytest.fixture
async def client(sim: Simulator) -> AsyncIterator[Mk3Client]:
    """The real client connected to the simulator through the pty."""
    mk3 = Mk3Client(sim.url)
    await mk3.connect()
    yield mk3
    await mk3.close()

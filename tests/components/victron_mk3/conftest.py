"""Fixtures: the simulated MultiPlus-II behind a real pty, and an entry that points at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
import copy
from pathlib import Path
from unittest.mock import PropertyMock, patch

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

from custom_components.victron_mk3.const import CONF_PORT, DEFAULT_NAME, DOMAIN
from custom_components.victron_mk3.coordinator import VictronMk3Coordinator
from custom_components.victron_mk3.vebus_mk3.simulator import MultiplusModel, SimulatorThread

from .common import ENTRY_ID


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Load the integration from custom_components/."""


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots with Home Assistant's serializer (syrupy's own fixture would shadow the plugin's)."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


@pytest.fixture(autouse=True)
def no_usb_devices() -> Iterator[None]:
    """No USB enumeration on the test machine: ports are ptys unless a test says otherwise."""
    with patch("homeassistant.components.usb.usb_device_from_path", return_value=None):
        yield


@pytest.fixture
def model() -> MultiplusModel:
    """The simulated device: on, on the grid, charging in bulk."""
    return MultiplusModel()


@pytest.fixture
def simulator(model: MultiplusModel, tmp_path: Path) -> Iterator[SimulatorThread]:
    """The device behind a real pty; time_scale 0 freezes the battery for stable snapshots.

    A copy of ``model`` runs, so a model given through ``parametrize`` starts fresh in every case;
    tests read the running one with ``simulator.call``.
    """
    sim = SimulatorThread(
        model=copy.deepcopy(model), link=str(tmp_path / "ttyMK3"), time_scale=0.0, sleep_delay=0.2
    )
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def mock_config_entry(simulator: SimulatorThread) -> MockConfigEntry:
    """An entry for the simulated interface, as the config flow makes it."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=DEFAULT_NAME,
        data={CONF_PORT: simulator.url},
        entry_id=ENTRY_ID,
        version=1,
        minor_version=2,
    )


@pytest.fixture
def platforms() -> list[Platform]:
    """All platforms unless a test module narrows them (snapshot_platform wants one)."""
    return [
        Platform.BINARY_SENSOR,
        Platform.BUTTON,
        Platform.NUMBER,
        Platform.SELECT,
        Platform.SENSOR,
        Platform.SWITCH,
    ]


@pytest.fixture
async def init_integration(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, platforms: list[Platform]
) -> AsyncIterator[MockConfigEntry]:
    """The entry set up against the simulator."""
    mock_config_entry.add_to_hass(hass)
    with patch("custom_components.victron_mk3.PLATFORMS", platforms):
        assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await hass.async_block_till_done()
        yield mock_config_entry


@pytest.fixture
def coordinator(init_integration: MockConfigEntry) -> VictronMk3Coordinator:
    """The running entry's coordinator."""
    coordinator: VictronMk3Coordinator = init_integration.runtime_data
    return coordinator


@pytest.fixture
def all_entities_enabled() -> Iterator[None]:
    """Entities that start disabled are enabled too (snapshots cover every entity)."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        yield

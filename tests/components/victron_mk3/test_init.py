"""Setup, unload and not-ready reasons (taking over earlier entries: test_migration*.py)."""

from __future__ import annotations

from collections.abc import Iterator
import os
from pathlib import Path

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from custom_components.victron_mk3.const import CONF_PORT, DOMAIN
from custom_components.victron_mk3.vebus_mk3 import Mk3Client
from custom_components.victron_mk3.vebus_mk3.simulator import SimulatorThread

from .common import ENTRY_ID


async def test_setup_and_unload(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: SimulatorThread
) -> None:
    """The entry loads without sending a state command; unloading releases the port."""
    entry = init_integration
    assert entry.state is ConfigEntryState.LOADED
    client = entry.runtime_data.client
    assert client.connected
    assert hass.states.get("sensor.victron_mk3_battery_voltage").state == "53.67"
    assert simulator.call(lambda sim: sim.count("S")) == 0

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED
    assert not client.connected
    # Released: another program may open the port now.
    assert simulator.call(lambda sim: sim.count("S")) == 0


def _issue(hass: HomeAssistant, domain: str, issue_id: str) -> None:
    ir.async_create_issue(
        hass, domain, issue_id, is_fixable=False, severity=ir.IssueSeverity.WARNING, translation_key="x"
    )


async def test_remove_deletes_repair_issues(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """Removing an entry deletes its repair issues; other entries' and other domains' stay."""
    registry = ir.async_get(hass)
    # The coordinator names its issue device_asleep_<entry id>.
    _issue(hass, DOMAIN, f"device_asleep_{ENTRY_ID}")
    _issue(hass, DOMAIN, "device_asleep_01JOTHERENTRY")
    _issue(hass, "other_domain", f"device_asleep_{ENTRY_ID}")

    assert await hass.config_entries.async_remove(init_integration.entry_id)
    await hass.async_block_till_done()

    assert registry.async_get_issue(DOMAIN, f"device_asleep_{ENTRY_ID}") is None
    assert registry.async_get_issue(DOMAIN, "device_asleep_01JOTHERENTRY") is not None
    assert registry.async_get_issue("other_domain", f"device_asleep_{ENTRY_ID}") is not None


async def test_device(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """The VE.Bus device, named after the entry, with its firmware; connected via the MK3 interface."""
    device = device_registry.async_get_device_by_identifier((DOMAIN, ENTRY_ID), ENTRY_ID)
    interface = device_registry.async_get_device_by_identifier((DOMAIN, f"{ENTRY_ID}-interface"), ENTRY_ID)
    assert device is not None
    assert interface is not None
    assert device.via_device_id == interface.id
    assert device == snapshot(name="vebus_device")
    assert interface == snapshot(name="interface_device")


async def test_not_ready_port_missing(hass: HomeAssistant, tmp_path: Path) -> None:
    """A port that cannot be opened: retried later, with the reason."""
    entry = MockConfigEntry(
        domain=DOMAIN, data={CONF_PORT: str(tmp_path / "ttyUSB9")}, version=1, minor_version=2
    )
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert entry.error_reason_translation_key == "port_inaccessible"
    assert "ttyUSB9" in entry.reason


@pytest.fixture
def silent_port() -> Iterator[str]:
    """A port that opens but never answers: the device behind the MK3 sleeps."""
    master, slave = os.openpty()
    yield os.ttyname(slave)
    os.close(master)
    os.close(slave)


async def test_not_ready_device_asleep(hass: HomeAssistant, silent_port: str) -> None:
    """The port opens but nothing answers: retried later, and the port is released meanwhile."""
    entry = MockConfigEntry(domain=DOMAIN, data={CONF_PORT: silent_port}, version=1, minor_version=2)
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert entry.error_reason_translation_key == "no_answer"
    # The failed setup closed the port: another opener is not locked out.
    client = Mk3Client(silent_port)
    await client.connect()
    await client.close()

"""Standby switch: written to the interface, kept over restarts, re-asserted after resets."""

from __future__ import annotations

from homeassistant.components.switch import DOMAIN as SWITCH_DOMAIN
from homeassistant.const import (
    ATTR_ENTITY_ID,
    SERVICE_TURN_OFF,
    SERVICE_TURN_ON,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
    Platform,
)
from homeassistant.core import HomeAssistant, State
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er, restore_state
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    mock_restore_cache,
    mock_restore_cache_with_extra_data,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.victron_mk3.vebus_mk3 import InterfaceFlags
from custom_components.victron_mk3.vebus_mk3.simulator import SimulatorThread

from .common import unplug, wait_until

ENTITY_ID = "switch.victron_mk3_remote_panel_standby"


def _standby(simulator: SimulatorThread) -> bool:
    return simulator.call(lambda sim: bool(sim.model.interface_flags & InterfaceFlags.STANDBY))


@pytest.fixture
def platforms() -> list[Platform]:
    """Switch only."""
    return [Platform.SWITCH]


async def test_switch(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """The standby switch starts off on a new install."""
    await snapshot_platform(hass, entity_registry, snapshot, init_integration.entry_id)


async def test_turn_on_and_off(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: SimulatorThread
) -> None:
    """The flag is written to the interface and read back; the other flags are left alone."""
    await hass.services.async_call(SWITCH_DOMAIN, SERVICE_TURN_ON, {ATTR_ENTITY_ID: ENTITY_ID}, blocking=True)
    assert hass.states.get(ENTITY_ID).state == STATE_ON
    assert simulator.call(lambda sim: InterfaceFlags(sim.model.interface_flags)) == (
        InterfaceFlags.PANEL_DETECT | InterfaceFlags.UNDOCUMENTED | InterfaceFlags.STANDBY
    )
    await hass.services.async_call(
        SWITCH_DOMAIN, SERVICE_TURN_OFF, {ATTR_ENTITY_ID: ENTITY_ID}, blocking=True
    )
    assert hass.states.get(ENTITY_ID).state == STATE_OFF
    assert not _standby(simulator)


async def test_restored_after_restart(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, simulator: SimulatorThread
) -> None:
    """A standby switched on before the restart is put back on the interface."""
    mock_restore_cache(hass, [State(ENTITY_ID, STATE_ON)])
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(ENTITY_ID).state == STATE_ON
    await wait_until(lambda: _standby(simulator))
    assert simulator.call(lambda sim: sim.count("S")) == 0


async def test_turn_on_while_unplugged(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: SimulatorThread
) -> None:
    """No link: a translated error at once, and the switch stays off."""
    coordinator = init_integration.runtime_data
    await unplug(simulator, coordinator.client)
    await wait_until(lambda: hass.states.get(ENTITY_ID).state == STATE_UNAVAILABLE)
    with pytest.raises(HomeAssistantError) as err:
        await coordinator.async_set_standby(True)
    assert err.value.translation_key == "link_down"
    assert not coordinator.standby_requested


async def _setup(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


async def test_wish_kept_while_unavailable(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: SimulatorThread
) -> None:
    """What Home Assistant saves while the device is away still holds the wish."""
    await hass.services.async_call(SWITCH_DOMAIN, SERVICE_TURN_ON, {ATTR_ENTITY_ID: ENTITY_ID}, blocking=True)
    await unplug(simulator, init_integration.runtime_data.client)
    await wait_until(lambda: hass.states.get(ENTITY_ID).state == STATE_UNAVAILABLE)
    stored = {
        stored.state.entity_id: stored for stored in restore_state.async_get(hass).async_get_stored_states()
    }
    assert stored[ENTITY_ID].state.state == STATE_UNAVAILABLE
    assert stored[ENTITY_ID].extra_data is not None
    assert stored[ENTITY_ID].extra_data.as_dict() == {"standby_requested": True}


@pytest.mark.parametrize("requested", [True, False])
async def test_wish_restored_after_restart_while_unavailable(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, simulator: SimulatorThread, requested: bool
) -> None:
    """Stopped while the device was asleep or unplugged: the wish comes back, not the availability."""
    mock_restore_cache_with_extra_data(
        hass, [(State(ENTITY_ID, STATE_UNAVAILABLE), {"standby_requested": requested})]
    )
    await _setup(hass, mock_config_entry)
    assert hass.states.get(ENTITY_ID).state == (STATE_ON if requested else STATE_OFF)
    if requested:
        await wait_until(lambda: _standby(simulator))
    assert _standby(simulator) is requested


async def test_previous_release_unavailable_state(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, simulator: SimulatorThread
) -> None:
    """Saved by the previous release while unavailable: no wish is known, so standby stays off."""
    mock_restore_cache(hass, [State(ENTITY_ID, STATE_UNAVAILABLE)])
    await _setup(hass, mock_config_entry)
    assert hass.states.get(ENTITY_ID).state == STATE_OFF
    assert not _standby(simulator)

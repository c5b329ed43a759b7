"""Restores checked against the recorder: energy totals never step back, a standby wish is not lost."""

from __future__ import annotations

import asyncio

from homeassistant.components.recorder import Recorder, history
from homeassistant.components.switch import DOMAIN as SWITCH_DOMAIN
from homeassistant.const import ATTR_ENTITY_ID, SERVICE_TURN_ON, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers.recorder import get_instance
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    mock_restore_cache,
    mock_restore_cache_with_extra_data,
)
from pytest_homeassistant_custom_component.components.recorder.common import async_wait_recording_done
from pytest_homeassistant_custom_component.typing import RecorderInstanceContextManager

from custom_components.victron_mk3.coordinator import VictronMk3Coordinator
from custom_components.victron_mk3.vebus_mk3 import InterfaceFlags
from custom_components.victron_mk3.vebus_mk3.simulator import SimulatorThread

from .common import unplug, wait_until

SWITCH = "switch.victron_mk3_remote_panel_standby"
KEYS = ("battery_charged_energy", "battery_discharged_energy", "ac_input_energy", "ac_output_energy")


@pytest.fixture
def mock_recorder_before_hass(async_test_recorder: RecorderInstanceContextManager) -> None:
    """The recorder's database is prepared before Home Assistant starts (the harness requires it)."""


def _kwh(hass: HomeAssistant, key: str) -> float:
    state = hass.states.get(f"sensor.victron_mk3_{key}")
    assert state is not None, key
    return float(state.state)


async def _publish(hass: HomeAssistant, coordinator: VictronMk3Coordinator) -> None:
    await coordinator.async_refresh()
    await hass.async_block_till_done()


def _restore_cache(hass: HomeAssistant, base_kwh: float) -> None:
    mock_restore_cache_with_extra_data(
        hass,
        [
            (
                State(f"sensor.victron_mk3_{key}", str(base_kwh + index)),
                {"native_value": base_kwh + index, "native_unit_of_measurement": "kWh"},
            )
            for index, key in enumerate(KEYS)
        ],
    )


async def test_restore_never_below_the_recorder(
    recorder_mock: Recorder, hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """A power cut: the restore data is older than what the recorder stored; no counter steps back."""
    _restore_cache(hass, 10.0)
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    await asyncio.sleep(1.5)  # a few 0.4 s cycles: samples to integrate
    await _publish(hass, mock_config_entry.runtime_data)
    recorded = {key: _kwh(hass, key) for key in KEYS}
    assert recorded["ac_output_energy"] > 13.0
    await async_wait_recording_done(hass)
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    await async_wait_recording_done(hass)
    # The unload recorded "unavailable" after the totals: the numbers are further back.
    entity_id = "sensor.victron_mk3_ac_output_energy"
    last = await get_instance(hass).async_add_executor_job(history.get_last_state_changes, hass, 1, entity_id)
    assert last[entity_id][0].state == STATE_UNAVAILABLE

    # The last restore data written before the power cut is older than the recorder's rows.
    _restore_cache(hass, 5.0)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    for key in KEYS:
        assert _kwh(hass, key) >= recorded[key], key
    assert _kwh(hass, "battery_discharged_energy") == recorded["battery_discharged_energy"] == 11.0


async def test_restore_without_recorded_states(
    recorder_mock: Recorder, hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """With the recorder loaded but nothing recorded yet, the restore data alone counts."""
    _restore_cache(hass, 10.0)
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    for index, key in enumerate(KEYS):
        assert 10.0 + index <= _kwh(hass, key) < 10.0 + index + 0.001, key


def _standby(simulator: SimulatorThread) -> bool:
    return simulator.call(lambda sim: bool(sim.model.interface_flags & InterfaceFlags.STANDBY))


async def test_standby_wish_from_the_recorder(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    simulator: SimulatorThread,
) -> None:
    """The previous release stopped while unavailable and saved no wish: the recorder's last on/off counts."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    await hass.services.async_call(SWITCH_DOMAIN, SERVICE_TURN_ON, {ATTR_ENTITY_ID: SWITCH}, blocking=True)
    await unplug(simulator, mock_config_entry.runtime_data.client)
    await wait_until(lambda: hass.states.get(SWITCH).state == STATE_UNAVAILABLE)
    await async_wait_recording_done(hass)
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    await async_wait_recording_done(hass)

    # What the previous release saved; the interface lost its flags meanwhile.
    mock_restore_cache(hass, [State(SWITCH, STATE_UNAVAILABLE)])
    simulator.call(lambda sim: sim.model.interface_power_lost())
    simulator.replug()
    assert not _standby(simulator)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(SWITCH).state == STATE_ON
    await wait_until(lambda: _standby(simulator))

"""Entry migration: history, energy totals and automations carry over; clashes and our own old entries."""

from __future__ import annotations

import logging

from homeassistant.components.recorder import Recorder, history
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import async_wait_recording_done
from pytest_homeassistant_custom_component.typing import RecorderInstanceContextManager

from custom_components.victron_mk3.const import CONF_PORT, CONF_SCAN_INTERVAL, DOMAIN
from custom_components.victron_mk3.migration import CURRENT_MINOR_VERSION
from custom_components.victron_mk3.vebus_mk3.simulator import SimulatorThread

from .common import ENTRY_ID
from .peer_releases import RELEASES, PeerRelease
from .test_migration_peers import install_peer

CHARGER_CURRENT = "sensor.victron_mk3_battery_charger_current"


def _release(name: str) -> PeerRelease:
    return next(release for release in RELEASES if release.name == name)


@pytest.fixture
def mock_recorder_before_hass(async_test_recorder: RecorderInstanceContextManager) -> None:
    """The recorder's database is prepared before Home Assistant starts (the harness requires it)."""


async def _record_then_restart(hass: HomeAssistant, states: dict[str, tuple[str, dict[str, str]]]) -> None:
    """What the peer recorded before Home Assistant restarted with this integration instead."""
    for entity_id, (state, attributes) in states.items():
        hass.states.async_set(entity_id, state, attributes)
    await async_wait_recording_done(hass)
    for entity_id in states:
        hass.states.async_remove(entity_id)
    await async_wait_recording_done(hass)


async def _recorded_states(hass: HomeAssistant, entity_id: str) -> list[str]:
    await async_wait_recording_done(hass)
    changes = await get_instance(hass).async_add_executor_job(
        history.state_changes_during_period, hass, dt_util.utc_from_timestamp(0), None, entity_id
    )
    # "" is the removal that stands in for the restart here.
    return [state.state for state in changes.get(entity_id, []) if state.state]


async def test_j9brown_current_history_and_automations(
    recorder_mock: Recorder, hass: HomeAssistant, simulator: SimulatorThread
) -> None:
    """The issue's case: 0.4.2+ battery currents keep their history; actions by device id still work."""
    release = _release("j9brown 0.4.2-0.6.0")
    assert sum(peer.enabled for peer in release.entities) == 24  # as many as the issue counted
    renamed = "sensor.shed_inverter_ac_input_voltage"
    entry, device, _ = install_peer(hass, release, simulator.url, rename={"ac_input_voltage": renamed})
    await _record_then_restart(
        hass,
        {
            CHARGER_CURRENT: ("41.5", {"unit_of_measurement": "A", "device_class": "current"}),
            renamed: ("229.0", {"unit_of_measurement": "V", "device_class": "voltage"}),
        },
    )

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert hass.states.get(CHARGER_CURRENT).state == "59.9"
    # The peer's row, then this integration's under the same id (an "unavailable" from a slow
    # runner in between would not matter).
    for entity_id, before, after in ((CHARGER_CURRENT, "41.5", "59.9"), (renamed, "229.0", "230.0")):
        recorded = await _recorded_states(hass, entity_id)
        assert recorded[0] == before, entity_id
        assert after in recorded[1:], entity_id
    assert hass.states.get("sensor.victron_mk3_battery_charge_current") is None
    await hass.services.async_call(
        DOMAIN, "set_remote_panel_state", {"device_id": device.id, "mode": "charger_only"}, blocking=True
    )
    assert hass.states.get("select.victron_mk3_remote_panel_mode").state == "charger_only"


async def test_usersaynoso_energy_total_carries_on(
    recorder_mock: Recorder, hass: HomeAssistant, simulator: SimulatorThread
) -> None:
    """The fork's kWh counters become the charged/discharged energy and continue from their total."""
    entry, _, _ = install_peer(hass, _release("usersaynoso 0.6.0-0.6.1"), simulator.url)
    into, out_of = "sensor.victron_mk3_battery_energy_into", "sensor.victron_mk3_battery_energy_out_of"
    energy = {"unit_of_measurement": "kWh", "device_class": "energy"}
    await _record_then_restart(hass, {into: ("12.5", energy), out_of: ("7.25", energy)})

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    # Charging at about 3 kW: a few seconds add thousandths.
    assert 12.5 <= float(hass.states.get(into).state) < 12.6
    assert float(hass.states.get(out_of).state) == 7.25
    registry = er.async_get(hass)
    assert registry.async_get(into).unique_id == f"{ENTRY_ID}-battery_charged_energy"
    assert hass.states.get("sensor.victron_mk3_battery_charged_energy") is None


async def test_own_entries_before_1_3(
    hass: HomeAssistant,
    simulator: SimulatorThread,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    """Entries of this integration's 1.2 get the new battery current keys under the same entity ids."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Victron MK3",
        data={CONF_PORT: simulator.url},
        entry_id=ENTRY_ID,
        version=1,
        minor_version=2,
    )
    entry.add_to_hass(hass)
    device = device_registry.async_get_or_create(config_entry_id=ENTRY_ID, identifiers={(DOMAIN, ENTRY_ID)})
    old = {
        "battery_input_current": "battery_charge_current",
        "battery_output_current": "battery_discharge_current",
        "battery_voltage": "battery_voltage",
    }
    for key, name in old.items():
        entity_registry.async_get_or_create(
            "sensor",
            DOMAIN,
            f"{ENTRY_ID}-{key}",
            config_entry=entry,
            device_id=device.id,
            suggested_object_id=f"victron_mk3_{name}",
        )

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.minor_version == CURRENT_MINOR_VERSION
    new_keys = {
        "battery_charge_current": "battery_charger_current",
        "battery_discharge_current": "battery_inverter_current",
    }
    for name in old.values():
        registry_entry = entity_registry.async_get(f"sensor.victron_mk3_{name}")
        assert registry_entry is not None, name
        assert registry_entry.unique_id == f"{ENTRY_ID}-{new_keys.get(name, name)}"
        assert registry_entry.device_id == device.id
    assert hass.states.get("sensor.victron_mk3_battery_charge_current").state == "59.9"
    assert hass.states.get("sensor.victron_mk3_battery_discharge_current").state == "0.0"
    assert hass.states.get("sensor.victron_mk3_battery_charge_current_2") is None


async def test_switched_with_1_2_gets_j9brown_sensors_back(
    hass: HomeAssistant,
    simulator: SimulatorThread,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    """The issue's users who already switched: 1.2 orphaned j9brown's 0.4.2 currents and added its own.

    1.3 gives the ids back to j9brown's entities (their history is the longer one); the two that
    1.2 added beside them stay aside.
    """
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Victron MK3",
        data={CONF_PORT: simulator.url},
        entry_id=ENTRY_ID,
        version=1,
        minor_version=2,
    )
    entry.add_to_hass(hass)
    device = device_registry.async_get_or_create(config_entry_id=ENTRY_ID, identifiers={(DOMAIN, ENTRY_ID)})
    # 1.2 moved j9brown's ids to the entry id unchanged, then created its own keys with new entity ids.
    for key, object_id in (
        ("battery_charger_current", "battery_charger_current"),
        ("battery_input_current", "battery_charge_current"),
    ):
        entity_registry.async_get_or_create(
            "sensor",
            DOMAIN,
            f"{ENTRY_ID}-{key}",
            config_entry=entry,
            device_id=device.id,
            suggested_object_id=f"victron_mk3_{object_id}",
        )

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert hass.states.get(CHARGER_CURRENT).state == "59.9"
    added_by_1_2 = entity_registry.async_get("sensor.victron_mk3_battery_charge_current")
    assert added_by_1_2 is not None
    assert added_by_1_2.unique_id == f"{ENTRY_ID}-battery_input_current"


async def test_orphan_of_0_4_1_stays_aside(
    hass: HomeAssistant,
    simulator: SimulatorThread,
    entity_registry: er.EntityRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A 0.4.1 user who updated to 0.4.2 has both keys; the one in use (the current key) wins."""
    release = _release("j9brown 0.4.2-0.6.0")
    port = simulator.url
    # The orphan came first (0.4.1), so a migration in registry order would have handed it the id.
    entry, device, _ = install_peer(hass, PeerRelease("0.4.1 leftovers", ()), port)
    orphan = entity_registry.async_get_or_create(
        "sensor",
        DOMAIN,
        f"{device.id}-battery_input_current",
        config_entry=entry,
        device_id=device.id,
        suggested_object_id="victron_mk3_battery_input_current",
    )
    for peer in release.entities:
        entity_registry.async_get_or_create(
            peer.domain,
            DOMAIN,
            f"{device.id}-{peer.key}",
            config_entry=entry,
            device_id=device.id,
            suggested_object_id=peer.object_id(entry.title),
        )

    with caplog.at_level(logging.WARNING):
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()

    assert entity_registry.async_get(CHARGER_CURRENT).unique_id == f"{ENTRY_ID}-battery_charger_current"
    assert hass.states.get(CHARGER_CURRENT).state == "59.9"
    assert entity_registry.async_get(orphan.entity_id).unique_id == f"{device.id}-battery_input_current"
    assert f"Not migrating {orphan.entity_id}" in caplog.text


async def test_foreign_options_dropped(hass: HomeAssistant, simulator: SimulatorThread) -> None:
    """alexmbird's keep_current_limit option goes; options this integration knows stay."""
    entry, _, _ = install_peer(
        hass,
        _release("alexmbird 0.7.0+"),
        simulator.url,
        options={"keep_current_limit": True, CONF_SCAN_INTERVAL: 5},
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert dict(entry.options) == {CONF_SCAN_INTERVAL: 5}


async def test_migrate_keeps_taken_unique_ids(
    hass: HomeAssistant,
    simulator: SimulatorThread,
    entity_registry: er.EntityRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An old entity whose new id is already taken is left alone, with a warning; odd ids too."""
    entry = MockConfigEntry(
        domain=DOMAIN, data={CONF_PORT: simulator.url}, entry_id=ENTRY_ID, version=1, minor_version=1
    )
    entry.add_to_hass(hass)
    old = entity_registry.async_get_or_create(
        "sensor", DOMAIN, "0123abcd-battery_voltage", config_entry=entry
    )
    new = entity_registry.async_get_or_create(
        "sensor", DOMAIN, f"{ENTRY_ID}-battery_voltage", config_entry=entry
    )
    odd = entity_registry.async_get_or_create("sensor", DOMAIN, "nodash", config_entry=entry)
    with caplog.at_level(logging.WARNING):
        assert await hass.config_entries.async_setup(entry.entry_id)
    assert entity_registry.async_get(old.entity_id).unique_id == "0123abcd-battery_voltage"
    assert entity_registry.async_get(new.entity_id).unique_id == f"{ENTRY_ID}-battery_voltage"
    assert entity_registry.async_get(odd.entity_id).unique_id == "nodash"
    assert f"Not migrating {old.entity_id}" in caplog.text


async def test_migrate_refuses_newer_entries(hass: HomeAssistant, simulator: SimulatorThread) -> None:
    """An entry written by a newer release is not touched."""
    entry = MockConfigEntry(domain=DOMAIN, data={CONF_PORT: simulator.url}, version=2, minor_version=1)
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.MIGRATION_ERROR

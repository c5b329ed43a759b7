"""Multi-unit systems in the real Home Assistant harness: three units on three phases, two in parallel.

Every unit has a device of its own hanging off the system device; per-phase real power matches
the simulated device within 1 %; the system's entities keep the ids a single unit has.
"""

from __future__ import annotations

import dataclasses

from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.victron_mk3 import async_remove_config_entry_device
from custom_components.victron_mk3.const import DOMAIN
from custom_components.victron_mk3.device import interface_identifier
from custom_components.victron_mk3.diagnostics import async_get_config_entry_diagnostics
from custom_components.victron_mk3.unit_sensor import (
    phase_energy_sensors,
    phase_power_sensors,
    unit_power_sensors,
)
from custom_components.victron_mk3.vebus_mk3.simulator import (
    MultiplusModel,
    Simulator,
    SimulatorThread,
    make_model,
)

from .common import ENTRY_ID, wait_until

THREE_PHASE = pytest.param(make_model("three_phase"), id="three_phase")
PARALLEL = pytest.param(make_model("parallel"), id="parallel")
LABELS = {
    "three_phase": ["L1 master", "L2 master", "L3 master"],
    "parallel": ["L1 master", "L1 slave 1"],
}
# Entities of a single unit that must keep their ids in a multi-unit system.
SYSTEM_ENTITIES = (
    "sensor.victron_mk3_ac_input_power",
    "sensor.victron_mk3_ac_output_power",
    "sensor.victron_mk3_battery_voltage",
    "sensor.victron_mk3_ac_input_energy",
    "sensor.victron_mk3_ac_output_energy",
    "sensor.victron_mk3_ac_input_voltage",
)


def _number(hass: HomeAssistant, entity_id: str) -> float | None:
    state = hass.states.get(entity_id)
    if state is None or state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
        return None
    return float(state.state)


def _within(actual: float | None, expected: float) -> bool:
    return actual is not None and abs(actual - expected) <= max(1.0, abs(expected) * 0.01)


def _profile(model: MultiplusModel) -> str:
    return "three_phase" if model.phases == 3 else "parallel"


@pytest.mark.parametrize("model", [THREE_PHASE, PARALLEL])
async def test_every_unit_has_a_device_under_the_system(
    hass: HomeAssistant, init_integration: MockConfigEntry, model: MultiplusModel
) -> None:
    devices = dr.async_get(hass)
    system = devices.async_get_device_by_identifier((DOMAIN, ENTRY_ID), ENTRY_ID)
    assert system is not None
    units = [d for d in dr.async_entries_for_config_entry(devices, ENTRY_ID) if d.via_device_id == system.id]
    assert sorted(device.name or "" for device in units) == [
        f"Victron MK3 {label}" for label in LABELS[_profile(model)]
    ]
    assert all(device.sw_version and device.sw_version.startswith("50") for device in units)
    if _profile(model) == "three_phase":
        l2 = next(device for device in units if device.name == "Victron MK3 L2 master")
        assert l2.sw_version == "507 (2623507)"  # each unit's own firmware
        assert l2.serial_number == "11000002"


@pytest.mark.parametrize("model", [THREE_PHASE, PARALLEL])
async def test_per_phase_real_power_matches_the_device(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: SimulatorThread, model: MultiplusModel
) -> None:
    flows = simulator.call(lambda sim: sim.model.flows())
    for phase in range(1, model.phases + 1):
        expected = flows.of_phase(phase)
        for name, value in (
            ("ac_input_power", expected.input_power),
            ("ac_output_power", expected.output_power),
            ("inverter_power", expected.inverter_power),
        ):
            entity_id = f"sensor.victron_mk3_{name}_l{phase}"
            await wait_until(lambda e=entity_id, v=value: _within(_number(hass, e), v), 15)
    total = sum(flows.of_phase(phase).output_power for phase in range(1, model.phases + 1))
    # The system's own power entity keeps its id and now shows the whole system.
    await wait_until(lambda: _within(_number(hass, "sensor.victron_mk3_ac_output_power"), total), 15)
    # Each unit's own share.
    unit = "l1_slave_1" if _profile(model) == "parallel" else "l3_master"
    share = flows.of_phase(1).output_power * 0.4 if unit == "l1_slave_1" else flows.of_phase(3).output_power
    await wait_until(lambda: _within(_number(hass, f"sensor.victron_mk3_{unit}_ac_output_power"), share), 15)


@pytest.mark.parametrize("model", [THREE_PHASE, PARALLEL])
async def test_system_entities_keep_their_ids_and_phase_energy_counts(
    hass: HomeAssistant, init_integration: MockConfigEntry, model: MultiplusModel
) -> None:
    entities = er.async_get(hass)
    for entity_id in SYSTEM_ENTITIES:
        entry = entities.async_get(entity_id)
        assert entry is not None, entity_id
        assert entry.unique_id == f"{ENTRY_ID}-{entity_id.removeprefix('sensor.victron_mk3_')}"
    energy = "sensor.victron_mk3_ac_input_energy_l1"
    await wait_until(lambda: (_number(hass, energy) or 0.0) > 0.0, 20)
    assert hass.states.get(f"sensor.victron_mk3_ac_output_energy_l{model.phases}") is not None


@pytest.mark.parametrize("model", [THREE_PHASE])
async def test_diagnostics_show_the_topology(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    sampler = init_integration.runtime_data.sampler
    await wait_until(lambda: sampler.units.stats.rounds > 0, 15)  # not in the first (slow) cycle
    diagnostics = await async_get_config_entry_diagnostics(hass, init_integration)
    units = diagnostics["link"]["units"]
    assert [unit["label"] for unit in units["topology"]["units"]] == LABELS["three_phase"]
    assert units["topology"]["phase_source"] == "address_mod_3_confirmed"
    assert units["snapshots"]["support"] == "supported"
    assert units["firmware"] == {"0": 2623506, "1": 2623507, "2": 2623506}


async def test_single_unit_has_no_unit_devices_or_phase_power(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    devices = dr.async_get(hass)
    # The system (the Multi) and the MK3 interface it is connected via; no unit devices.
    identifiers = {frozenset(d.identifiers) for d in dr.async_entries_for_config_entry(devices, ENTRY_ID)}
    assert identifiers == {frozenset({(DOMAIN, ENTRY_ID)}), frozenset({interface_identifier(ENTRY_ID)})}
    assert hass.states.get("sensor.victron_mk3_ac_input_power_l1") is None
    assert hass.states.get("sensor.victron_mk3_ac_input_energy_l1") is None
    diagnostics = await async_get_config_entry_diagnostics(hass, init_integration)
    assert diagnostics["link"]["units"]["topology"]["units"][0]["label"] == "L1 master"


@pytest.mark.parametrize("model", [PARALLEL])
async def test_a_gone_unit_device_can_be_removed_a_present_one_not(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    devices = dr.async_get(hass)
    system = devices.async_get_device_by_identifier((DOMAIN, ENTRY_ID), ENTRY_ID)
    present = devices.async_get_device_by_identifier((DOMAIN, f"{ENTRY_ID}-unit1"), ENTRY_ID)
    assert system is not None
    assert present is not None
    gone = devices.async_get_or_create(config_entry_id=ENTRY_ID, identifiers={(DOMAIN, f"{ENTRY_ID}-unit5")})
    assert not await async_remove_config_entry_device(hass, init_integration, present)
    assert not await async_remove_config_entry_device(hass, init_integration, system)
    assert await async_remove_config_entry_device(hass, init_integration, gone)


def test_multi_unit_entities_have_english_names() -> None:
    import json
    from pathlib import Path

    strings = json.loads(
        (Path(__file__).parents[3] / "custom_components" / "victron_mk3" / "strings.json").read_text()
    )["entity"]["sensor"]
    for description in (*phase_power_sensors(2), *phase_energy_sensors(2), *unit_power_sensors(1)):
        name = strings[description.translation_key]["name"]
        assert name, description.key
        if "{phase}" in name:
            assert description.translation_placeholders == {"phase": "L2"}


@pytest.mark.parametrize("model", [THREE_PHASE])
async def test_a_silent_unit_makes_its_own_entities_unavailable_only(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: SimulatorThread
) -> None:
    await wait_until(lambda: _number(hass, "sensor.victron_mk3_l3_master_ac_output_power") is not None, 15)

    def silence_l3(sim: Simulator) -> None:
        sim.model.units = (*sim.model.units[:2], dataclasses.replace(sim.model.units[2], silent=True))

    simulator.call(silence_l3)
    unit_power = "sensor.victron_mk3_l3_master_ac_output_power"
    await wait_until(lambda: hass.states.get(unit_power).state == STATE_UNAVAILABLE, 30)  # type: ignore[union-attr]
    assert _number(hass, "sensor.victron_mk3_ac_output_power_l3") is None
    assert _number(hass, "sensor.victron_mk3_ac_output_power_l1") is not None
    assert _number(hass, "sensor.victron_mk3_l1_master_ac_output_power") is not None
    assert _number(hass, "sensor.victron_mk3_battery_voltage") is not None
    assert init_integration.runtime_data.fault is None

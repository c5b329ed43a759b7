"""Sensors: every entity and state, and values following the device."""

from __future__ import annotations

from collections.abc import Iterator
from unittest.mock import patch

from homeassistant.const import STATE_UNKNOWN, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, snapshot_platform
from syrupy.assertion import SnapshotAssertion

from custom_components.victron_mk3.const import DOMAIN
from custom_components.victron_mk3.coordinator import VictronMk3Coordinator
from custom_components.victron_mk3.sensor import VictronMk3EnergySensor
from custom_components.victron_mk3.vebus_mk3 import ChargeStage, InterfaceFlags
from custom_components.victron_mk3.vebus_mk3.simulator import (
    FrontSwitch,
    MultiplusModel,
    Simulator,
    SimulatorThread,
)

from .common import fresh_reading


@pytest.fixture
def platforms() -> list[Platform]:
    """Sensors only."""
    return [Platform.SENSOR]


@pytest.fixture
def energy_frozen() -> Iterator[None]:
    """Energy counters ignore samples: their totals would depend on the wall clock."""
    with patch.object(VictronMk3EnergySensor, "_async_on_sample"):
        yield


@pytest.mark.usefixtures("all_entities_enabled", "energy_frozen")
async def test_sensors(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """Every sensor of a single-phase MultiPlus-II charging from the grid (energy kept at 0)."""
    await snapshot_platform(hass, entity_registry, snapshot, init_integration.entry_id)


async def test_rare_sensors_disabled_by_default(
    hass: HomeAssistant, init_integration: MockConfigEntry, entity_registry: er.EntityRegistry
) -> None:
    """The current limit range starts disabled; the limit itself does not.

    The interface version repeats the interface device's; the indicator texts stay (they alone
    tell lit from blinking).
    """
    for entity_id, disabled in (
        ("sensor.victron_mk3_ac_input_current_limit_minimum", True),
        ("sensor.victron_mk3_ac_input_current_limit_maximum", True),
        ("sensor.victron_mk3_lit_indicators", False),
        ("sensor.victron_mk3_blinking_indicators", False),
        ("sensor.victron_mk3_interface_firmware_version", True),
        ("sensor.victron_mk3_ac_input_current_limit", False),
        ("sensor.victron_mk3_ac_input_voltage", False),
    ):
        entry = entity_registry.async_get(entity_id)
        assert entry is not None, entity_id
        assert (entry.disabled_by is not None) is disabled, entity_id


@pytest.mark.parametrize("model", [MultiplusModel(phases=3)])
async def test_phase_sensors_for_each_detected_phase(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """A three-phase system gets L2 and L3 sensors, disabled by default, and no L4."""
    entries = er.async_entries_for_config_entry(entity_registry, init_integration.entry_id)
    by_unique_id = {entry.unique_id: entry for entry in entries}
    prefix = f"{init_integration.entry_id}-"
    for phase in (2, 3):
        for key in (
            "ac_input_voltage",
            "ac_input_current",
            "ac_input_frequency",
            "ac_output_voltage",
            "ac_output_current",
        ):
            entry = by_unique_id[f"{prefix}{key}_l{phase}"]
            assert entry.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    assert f"{prefix}ac_input_voltage_l4" not in by_unique_id
    assert by_unique_id[f"{prefix}ac_input_voltage_l2"].entity_id == "sensor.victron_mk3_ac_input_voltage_l2"


@pytest.mark.usefixtures("all_entities_enabled")
@pytest.mark.parametrize("model", [MultiplusModel(phases=2, load_w=920.0)])
async def test_phase_sensor_values(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """Each phase reports its own share: the load is split over the units."""
    state = hass.states.get("sensor.victron_mk3_ac_input_voltage_l2")
    assert state is not None
    assert float(state.state) == pytest.approx(230.0)
    assert state.attributes["friendly_name"] == "Victron MK3 AC input voltage L2"


async def test_states_follow_the_device(
    hass: HomeAssistant, coordinator: VictronMk3Coordinator, simulator: SimulatorThread
) -> None:
    """Grid lost and front switch down: inverter off, charger idle, states follow on the next poll."""

    def unplug_grid(sim: Simulator) -> None:
        sim.model.ac_input_present = False
        sim.model.front_switch = FrontSwitch.CHARGER_ONLY
        # Standby keeps the interface powered; without it the Multi would now go to sleep.
        sim.model.interface_flags |= InterfaceFlags.STANDBY

    assert hass.states.get("sensor.victron_mk3_device_state").state == "charge"
    assert hass.states.get("sensor.victron_mk3_lit_indicators").state == "mains|bulk"
    simulator.call(unplug_grid)
    await fresh_reading(hass, coordinator)

    assert hass.states.get("sensor.victron_mk3_device_state").state == "off"
    assert hass.states.get("sensor.victron_mk3_front_panel_mode").state == "charger_only"
    assert hass.states.get("sensor.victron_mk3_actual_mode").state == "charger_only"
    assert hass.states.get("sensor.victron_mk3_lit_indicators").state == "none"
    # No mains waveform: no frequency (period byte 0), not 0 Hz.
    assert hass.states.get("sensor.victron_mk3_ac_input_frequency").state == STATE_UNKNOWN


async def test_inverting(
    hass: HomeAssistant, coordinator: VictronMk3Coordinator, simulator: SimulatorThread
) -> None:
    """Off grid the inverter carries the load from the battery."""
    simulator.call(lambda sim: setattr(sim.model, "ac_input_present", False))
    await fresh_reading(hass, coordinator)
    assert hass.states.get("sensor.victron_mk3_device_state").state == "invert_full"
    assert hass.states.get("sensor.victron_mk3_lit_indicators").state == "inverter"
    assert float(hass.states.get("sensor.victron_mk3_battery_power").state) < 0
    assert float(hass.states.get("sensor.victron_mk3_battery_discharge_current").state) > 0


async def test_state_of_charge_and_charge_stage(
    hass: HomeAssistant, coordinator: VictronMk3Coordinator, simulator: SimulatorThread
) -> None:
    """With a battery monitor the SOC is reported; the charge stage follows the charger."""
    assert float(hass.states.get("sensor.victron_mk3_battery_state_of_charge").state) == pytest.approx(75.0)
    assert hass.states.get("sensor.victron_mk3_charge_stage").state == "bulk"

    def float_stage(sim: Simulator) -> None:
        sim.model.soc = 0.99
        sim.model.charge_stage = ChargeStage.FLOAT

    simulator.call(float_stage)
    await fresh_reading(hass, coordinator)
    assert float(hass.states.get("sensor.victron_mk3_battery_state_of_charge").state) == pytest.approx(99.0)
    assert hass.states.get("sensor.victron_mk3_charge_stage").state == "float"


async def test_charge_stage_unknown_while_not_charging(
    hass: HomeAssistant, coordinator: VictronMk3Coordinator, simulator: SimulatorThread
) -> None:
    """Off grid the charger has no stage: the sensor is unknown, not unavailable."""
    simulator.call(lambda sim: setattr(sim.model, "ac_input_present", False))
    await fresh_reading(hass, coordinator)
    assert hass.states.get("sensor.victron_mk3_device_state").state == "invert_full"
    assert hass.states.get("sensor.victron_mk3_charge_stage").state == STATE_UNKNOWN


@pytest.mark.parametrize("model", [MultiplusModel(battery_monitor=False)])
async def test_no_state_of_charge_without_battery_monitor(
    hass: HomeAssistant, init_integration: MockConfigEntry, entity_registry: er.EntityRegistry
) -> None:
    """A device without a battery monitor gets no SOC entity at all (not an unknown one)."""
    assert coordinator_of(init_integration).data.status.state_of_charge is None
    assert hass.states.get("sensor.victron_mk3_battery_state_of_charge") is None
    assert (
        entity_registry.async_get_entity_id(
            "sensor", "victron_mk3", f"{init_integration.entry_id}-battery_state_of_charge"
        )
        is None
    )
    # The rest of the sensors are there as usual.
    assert hass.states.get("sensor.victron_mk3_charge_stage") is not None


@pytest.mark.usefixtures("all_entities_enabled")
async def test_device_firmware_versions(
    hass: HomeAssistant, init_integration: MockConfigEntry, device_registry: dr.DeviceRegistry
) -> None:
    """The device shows the Multi's firmware; the interface device and a sensor the MK3's."""
    entry_id = init_integration.entry_id
    device = device_registry.async_get_device_by_identifier((DOMAIN, entry_id), entry_id)
    interface = device_registry.async_get_device_by_identifier((DOMAIN, f"{entry_id}-interface"), entry_id)
    assert device is not None
    assert interface is not None
    assert device.sw_version == "506 (2623506)"
    assert interface.sw_version == "1170216"
    assert hass.states.get("sensor.victron_mk3_interface_firmware_version").state == "1170216"


def coordinator_of(entry: MockConfigEntry) -> VictronMk3Coordinator:
    """The entry's coordinator."""
    coordinator: VictronMk3Coordinator = entry.runtime_data
    return coordinator

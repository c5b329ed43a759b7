"""Binary sensors: indicators, mains and inverter, following the device."""

from __future__ import annotations

from homeassistant.const import STATE_OFF, STATE_ON, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, snapshot_platform
from syrupy.assertion import SnapshotAssertion

from custom_components.victron_mk3.coordinator import VictronMk3Coordinator
from custom_components.victron_mk3.vebus_mk3.simulator import Simulator, SimulatorThread

from .common import fresh_reading


@pytest.fixture
def platforms() -> list[Platform]:
    """Binary sensors only."""
    return [Platform.BINARY_SENSOR]


def _state(hass: HomeAssistant, key: str) -> str:
    state = hass.states.get(f"binary_sensor.victron_mk3_{key}")
    assert state is not None, key
    return state.state


async def test_binary_sensors(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """Every binary sensor of a MultiPlus-II charging in bulk from the grid."""
    await snapshot_platform(hass, entity_registry, snapshot, init_integration.entry_id)


async def test_off_grid(
    hass: HomeAssistant, coordinator: VictronMk3Coordinator, simulator: SimulatorThread
) -> None:
    """Grid lost: mains gone, the inverter runs, the charge indicators go dark."""
    assert _state(hass, "mains_present") == STATE_ON
    assert _state(hass, "inverter_running") == STATE_OFF
    assert _state(hass, "mains_indicator") == STATE_ON
    assert _state(hass, "bulk_indicator") == STATE_ON
    assert _state(hass, "float_indicator") == STATE_OFF

    simulator.call(lambda sim: setattr(sim.model, "ac_input_present", False))
    await fresh_reading(hass, coordinator)

    assert _state(hass, "mains_present") == STATE_OFF
    assert _state(hass, "inverter_running") == STATE_ON
    assert _state(hass, "mains_indicator") == STATE_OFF
    assert _state(hass, "bulk_indicator") == STATE_OFF
    assert _state(hass, "inverter_indicator") == STATE_ON


async def test_problems(
    hass: HomeAssistant, coordinator: VictronMk3Coordinator, simulator: SimulatorThread
) -> None:
    """Over temperature and overload light their warnings; they are problems."""
    for key in ("overload_indicator", "low_battery_indicator", "temperature_indicator"):
        assert _state(hass, key) == STATE_OFF
        assert hass.states.get(f"binary_sensor.victron_mk3_{key}").attributes["device_class"] == "problem"

    def trouble(sim: Simulator) -> None:
        sim.model.over_temperature = True
        sim.model.ac_input_present = False
        sim.model.load_w = 10_000.0

    simulator.call(trouble)
    await fresh_reading(hass, coordinator)
    assert _state(hass, "temperature_indicator") == STATE_ON
    assert _state(hass, "overload_indicator") == STATE_ON

"""Remote panel current limit: the device's range, step 0.1 A, mode kept."""

from __future__ import annotations

from homeassistant.components.number import ATTR_VALUE, DOMAIN as NUMBER_DOMAIN, SERVICE_SET_VALUE
from homeassistant.const import ATTR_ENTITY_ID, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, snapshot_platform
from syrupy.assertion import SnapshotAssertion

from custom_components.victron_mk3.vebus_mk3 import SwitchState
from custom_components.victron_mk3.vebus_mk3.simulator import MultiplusModel, SimulatorThread

ENTITY_ID = "number.victron_mk3_remote_panel_current_limit"


@pytest.fixture
def platforms() -> list[Platform]:
    """Number only."""
    return [Platform.NUMBER]


async def test_number(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """The current limit number with the range from the config frame."""
    await snapshot_platform(hass, entity_registry, snapshot, init_integration.entry_id)


async def _set(hass: HomeAssistant, value: float) -> None:
    await hass.services.async_call(
        NUMBER_DOMAIN, SERVICE_SET_VALUE, {ATTR_ENTITY_ID: ENTITY_ID, ATTR_VALUE: value}, blocking=True
    )


@pytest.mark.parametrize("model", [MultiplusModel(switch_state=SwitchState.CHARGER_ONLY)])
async def test_set_current_limit_keeps_mode(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: SimulatorThread
) -> None:
    """The limit changes, the remote mode stays what it was, the state shows at once."""
    await _set(hass, 20.5)
    assert hass.states.get(ENTITY_ID).state == "20.5"
    assert simulator.call(lambda sim: (sim.model.switch_state, sim.model.current_limit)) == (
        SwitchState.CHARGER_ONLY,
        20.5,
    )


async def test_set_current_limit_out_of_range(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: SimulatorThread
) -> None:
    """Above the device's maximum nothing is sent."""
    with pytest.raises(ServiceValidationError):
        await _set(hass, 50.1)
    assert simulator.call(lambda sim: sim.count("S")) == 0

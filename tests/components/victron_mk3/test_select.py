"""Remote panel mode select: read back from the device, keeps the current limit."""

from __future__ import annotations

from homeassistant.components.select import ATTR_OPTION, DOMAIN as SELECT_DOMAIN, SERVICE_SELECT_OPTION
from homeassistant.const import ATTR_ENTITY_ID, STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, snapshot_platform
from syrupy.assertion import SnapshotAssertion

from custom_components.victron_mk3.models import PanelMode
from custom_components.victron_mk3.vebus_mk3 import SwitchState
from custom_components.victron_mk3.vebus_mk3.simulator import MultiplusModel, Simulator, SimulatorThread

from .common import unplug, wait_until

ENTITY_ID = "select.victron_mk3_remote_panel_mode"


@pytest.fixture
def platforms() -> list[Platform]:
    """Select only."""
    return [Platform.SELECT]


async def test_select(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """The remote panel mode select and its state."""
    await snapshot_platform(hass, entity_registry, snapshot, init_integration.entry_id)


async def _select(hass: HomeAssistant, option: str) -> None:
    await hass.services.async_call(
        SELECT_DOMAIN,
        SERVICE_SELECT_OPTION,
        {ATTR_ENTITY_ID: ENTITY_ID, ATTR_OPTION: option},
        blocking=True,
    )


@pytest.mark.parametrize(
    ("option", "switch_state"),
    [
        ("off", SwitchState.OFF),
        ("charger_only", SwitchState.CHARGER_ONLY),
        ("inverter_only", SwitchState.INVERTER_ONLY),
    ],
)
@pytest.mark.parametrize("model", [MultiplusModel(current_limit=12.3)])
async def test_select_keeps_current_limit(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: SimulatorThread,
    option: str,
    switch_state: SwitchState,
) -> None:
    """A mode change sends the present limit, never "maximum"; the state shows at once."""
    await _select(hass, option)
    # No refresh in between: the write was read back from the device.
    assert hass.states.get(ENTITY_ID).state == option
    assert simulator.call(lambda sim: (sim.model.switch_state, sim.model.current_limit)) == (
        switch_state,
        12.3,
    )


async def test_select_not_confirmed(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: SimulatorThread
) -> None:
    """A device that ignores "on" (it can need several) is reported, not papered over."""
    await _select(hass, "off")

    def stubborn(sim: Simulator) -> None:
        sim.model.ignore_on_commands = 1

    simulator.call(stubborn)
    with pytest.raises(HomeAssistantError) as err:
        await _select(hass, "on")
    assert err.value.translation_key == "not_confirmed"
    assert err.value.translation_placeholders == {"requested": "on", "reported": "off"}
    assert hass.states.get(ENTITY_ID).state == "off"
    await _select(hass, "on")
    assert hass.states.get(ENTITY_ID).state == "on"


async def test_select_while_unplugged(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: SimulatorThread
) -> None:
    """With the link down the command fails at once and nothing is sent later."""
    coordinator = init_integration.runtime_data
    await unplug(simulator, coordinator.client)
    await wait_until(lambda: hass.states.get(ENTITY_ID).state == STATE_UNAVAILABLE)
    await _select(hass, "off")  # an unavailable entity: Home Assistant does not call it
    with pytest.raises(HomeAssistantError) as err:
        await coordinator.async_set_remote_panel_state(PanelMode.OFF, None)
    assert err.value.translation_key == "link_down"
    simulator.replug()
    await wait_until(lambda: coordinator.last_update_success, 6)
    assert simulator.call(lambda sim: sim.count("S")) == 0
    assert simulator.call(lambda sim: sim.model.switch_state) is SwitchState.ON

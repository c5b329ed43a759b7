"""Charge stage buttons: forced on the device, confirmed by the stage it answers with."""

from __future__ import annotations

from homeassistant.components.button import DOMAIN as BUTTON_DOMAIN, SERVICE_PRESS
from homeassistant.const import ATTR_ENTITY_ID, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from custom_components.victron_mk3.coordinator import VictronMk3Coordinator
from custom_components.victron_mk3.vebus_mk3 import ChargeAction, ChargeStage
from custom_components.victron_mk3.vebus_mk3.simulator import SimulatorThread

from .common import unplug, wait_until


@pytest.fixture
def platforms() -> list[Platform]:
    """Buttons and sensors (the charge stage follows a press)."""
    return [Platform.BUTTON, Platform.SENSOR]


async def _press(hass: HomeAssistant, key: str) -> None:
    await hass.services.async_call(
        BUTTON_DOMAIN, SERVICE_PRESS, {ATTR_ENTITY_ID: f"button.victron_mk3_{key}"}, blocking=True
    )


def _stage(simulator: SimulatorThread) -> ChargeStage:
    return simulator.call(lambda sim: sim.model.charge_stage)


@pytest.mark.usefixtures("all_entities_enabled")
async def test_buttons(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """The three buttons (snapshots of the buttons only)."""
    entries = er.async_entries_for_config_entry(entity_registry, init_integration.entry_id)
    buttons = [entry for entry in entries if entry.domain == "button"]
    assert [entry.unique_id.rsplit("-", 1)[1] for entry in buttons] == [
        "force_absorption",
        "force_float",
        "force_equalise",
    ]
    for entry in buttons:
        assert entry == snapshot(name=f"{entry.entity_id}-entry")
        assert hass.states.get(entry.entity_id) == snapshot(name=f"{entry.entity_id}-state")


async def test_equalise_disabled_by_default(
    hass: HomeAssistant, init_integration: MockConfigEntry, entity_registry: er.EntityRegistry
) -> None:
    """Equalising can harm many batteries: that button starts disabled, the others do not."""
    for key, disabled in (("force_equalise", True), ("force_absorption", False), ("force_float", False)):
        entry = entity_registry.async_get(f"button.victron_mk3_{key}")
        assert entry is not None, key
        assert (entry.disabled_by is not None) is disabled, key


@pytest.mark.usefixtures("all_entities_enabled")
@pytest.mark.parametrize(
    ("key", "stage"),
    [
        ("force_absorption", ChargeStage.FORCED_ABSORPTION),
        ("force_float", ChargeStage.FLOAT),
        ("force_equalise", ChargeStage.EQUALISE),
    ],
)
async def test_press(
    hass: HomeAssistant,
    coordinator: VictronMk3Coordinator,
    simulator: SimulatorThread,
    key: str,
    stage: ChargeStage,
) -> None:
    """The device takes the stage; the charge stage sensor follows within a cycle or two."""
    assert hass.states.get("sensor.victron_mk3_charge_stage").state == "bulk"
    await _press(hass, key)
    assert _stage(simulator) is stage
    # A changed stage is a state: published with the sample that shows it, no interval wait.
    await wait_until(
        lambda: hass.states.get("sensor.victron_mk3_charge_stage").state == stage.name.lower(), 6
    )


async def test_press_while_not_charging(
    hass: HomeAssistant, coordinator: VictronMk3Coordinator, simulator: SimulatorThread
) -> None:
    """Off grid there is no charger to force: a translated error, nothing changes."""
    simulator.call(lambda sim: setattr(sim.model, "ac_input_present", False))
    with pytest.raises(HomeAssistantError) as err:
        await _press(hass, "force_float")
    assert err.value.translation_key == "not_charging"
    assert err.value.translation_placeholders == {"state": "invert_full"}
    assert _stage(simulator) is ChargeStage.BULK


async def test_press_while_unplugged(
    hass: HomeAssistant, coordinator: VictronMk3Coordinator, simulator: SimulatorThread
) -> None:
    """With the link down the command fails at once and is not sent later."""
    await unplug(simulator, coordinator.client)
    with pytest.raises(HomeAssistantError) as err:
        await coordinator.async_force_charge_stage(ChargeAction.FLOAT)
    assert err.value.translation_key == "link_down"
    simulator.replug()
    await wait_until(lambda: coordinator.last_update_success, 6)
    assert _stage(simulator) is ChargeStage.BULK

"""ESS external control in a real Home Assistant against the simulated ESS assistant."""

from __future__ import annotations

import asyncio

from homeassistant.components.number import ATTR_VALUE, SERVICE_SET_VALUE
from homeassistant.const import (
    ATTR_ENTITY_ID,
    SERVICE_TURN_OFF,
    SERVICE_TURN_ON,
    STATE_OFF,
    STATE_ON,
    STATE_UNKNOWN,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr, issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.victron_mk3.const import CONF_ESS_CONTROL, CONF_PORT, DEFAULT_NAME, DOMAIN
from custom_components.victron_mk3.coordinator import VictronMk3Coordinator
from custom_components.victron_mk3.ess_control import ESS_NOT_FOLLOWING, EssManager
from custom_components.victron_mk3.repairs import issue_id
from custom_components.victron_mk3.vebus_mk3.ess_control import EssState
from custom_components.victron_mk3.vebus_mk3.simulator import (
    SETPOINT_AT_131,
    EssAssistant,
    MultiplusModel,
    SimulatorThread,
)
from custom_components.victron_mk3.vebus_mk3.simulator.ess import NO_ESS

from .common import ENTRY_ID, unplug, wait_until

SETPOINT = "number.victron_mk3_ess_grid_setpoint"
CONTROL = "switch.victron_mk3_ess_external_control"
INPUT_POWER = "sensor.victron_mk3_ac_input_power"
# Generous: a busy runner must not fail a test that the device passes in a fraction of this.
SETTLE = 15.0


@pytest.fixture
def model() -> MultiplusModel:
    """A Multi with the ESS assistant (setpoint at 131); it falls back 8 s after the last write.

    Longer than the 4 s keep-alive (as the real ~15 s is), shorter than the tests' waits.
    """
    return MultiplusModel(ess=EssAssistant(layout=SETPOINT_AT_131, fallback_after=8.0))


@pytest.fixture
def options() -> dict[str, object]:
    """ESS control turned on."""
    return {CONF_ESS_CONTROL: True}


@pytest.fixture
def mock_config_entry(simulator: SimulatorThread, options: dict[str, object]) -> MockConfigEntry:
    """The entry with the test's options."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=DEFAULT_NAME,
        data={CONF_PORT: simulator.url},
        options=options,
        entry_id=ENTRY_ID,
        version=1,
        minor_version=2,
    )


def _ess(simulator: SimulatorThread) -> EssAssistant:
    ess = simulator.call(lambda sim: sim.model.ess)
    assert ess is not None
    return ess


def _device_input_power(simulator: SimulatorThread) -> float:
    """What the simulated Multi takes from the grid right now (W)."""
    return simulator.call(lambda sim: sim.model.flows().phase.input_power)


def _shown_power(hass: HomeAssistant) -> float | None:
    state = hass.states.get(INPUT_POWER)
    try:
        return float(state.state) if state is not None else None
    except ValueError:
        return None


def _near(value: float | None, target: float) -> bool:
    return value is not None and abs(value - target) <= abs(target) * 0.05


def _manager(coordinator: VictronMk3Coordinator) -> EssManager:
    assert coordinator.ess is not None
    return coordinator.ess


async def _set(hass: HomeAssistant, watts: float) -> None:
    await hass.services.async_call(
        "number", SERVICE_SET_VALUE, {ATTR_ENTITY_ID: SETPOINT, ATTR_VALUE: watts}, blocking=True
    )


@pytest.mark.parametrize("options", [{}])
async def test_off_by_default_writes_nothing(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    simulator: SimulatorThread,
    coordinator: VictronMk3Coordinator,
) -> None:
    """Without the option: no entities, no discovery reads, no writes, diagnostics say why."""
    await wait_until(lambda: coordinator.sampler.stats.cycles >= 3, SETTLE)
    assert hass.states.get(SETPOINT) is None
    assert hass.states.get(CONTROL) is None
    received = simulator.call(lambda sim: list(sim.received))
    assert not [p for p in received if len(p) > 3 and p[2] in (0x30, 0x37) and p[3] >= 128]
    assert not [p for p in received if len(p) > 2 and p[2] == 0x37]
    entry_id = init_integration.entry_id
    device = dr.async_get(hass).async_get_device_by_identifier((DOMAIN, entry_id), entry_id)
    assert device is not None
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            DOMAIN, "set_ess_setpoint", {"device_id": device.id, "setpoint": 100}, blocking=True
        )
    assert _ess(simulator).writes == 0
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    assert diagnostics["ess"]["enabled"] is False


async def test_charge_feed_in_and_release(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: SimulatorThread,
    coordinator: VictronMk3Coordinator,
) -> None:
    """+1500 W takes 1500 W from the grid, -800 W feeds 800 W in, release falls back to 0 W."""
    assert hass.states.get(SETPOINT).state == STATE_UNKNOWN  # released
    assert hass.states.get(CONTROL).state == STATE_OFF
    assert _ess(simulator).setpoint_id == 131

    await _set(hass, 1500)
    # The write was acknowledged: the simulated device regulates to it at once.
    assert _near(_device_input_power(simulator), 1500)
    assert simulator.call(lambda sim: sim.model.flows().battery_current) > 0  # charging really charges
    elapsed = await wait_until(lambda: _near(_shown_power(hass), 1500), SETTLE)
    assert elapsed < SETTLE
    await wait_until(lambda: hass.states.get(CONTROL).attributes["control_state"] == "following", SETTLE)
    assert hass.states.get(CONTROL).state == STATE_ON
    assert float(hass.states.get(SETPOINT).state) == 1500

    await _set(hass, -800)
    assert _near(_device_input_power(simulator), -800)
    assert simulator.call(lambda sim: sim.model.flows().battery_current) < 0  # discharging
    await wait_until(lambda: _near(_shown_power(hass), -800), SETTLE)

    await hass.services.async_call("switch", SERVICE_TURN_OFF, {ATTR_ENTITY_ID: CONTROL}, blocking=True)
    cycles = coordinator.sampler.stats.cycles
    await wait_until(lambda: coordinator.sampler.stats.cycles >= cycles + 2, SETTLE)  # in flight: landed
    writes = _ess(simulator).writes
    assert hass.states.get(CONTROL).state == STATE_OFF
    # Within the device's timeout (8 s here) it is back on its own: 0 W at the AC input.
    await wait_until(lambda: _ess(simulator).setpoint is None, SETTLE)
    assert abs(_device_input_power(simulator)) < 1
    assert _ess(simulator).writes == writes
    assert _ess(simulator).eeprom_writes == 0


async def test_hold_outlasts_the_fallback_without_eeprom_writes(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: SimulatorThread,
    coordinator: VictronMk3Coordinator,
) -> None:
    """Held for more than three fallback periods: never falls back, every write RAM only."""
    controller = _manager(coordinator).controller
    assert controller is not None
    controller.keepalive_interval = 0.5  # many keep-alives in little time
    simulator.call(lambda sim: setattr(sim.model.ess, "fallback_after", 3.0))
    await _set(hass, 1000)
    loop = hass.loop
    until = loop.time() + 10.0
    while loop.time() < until:
        assert _ess(simulator).setpoint == -1000  # still in force
        await asyncio.sleep(0.5)
    assert _ess(simulator).writes >= 10
    assert _ess(simulator).eeprom_writes == 0
    assert controller.state.holding


async def test_action_with_duration_then_release(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: SimulatorThread
) -> None:
    """The action holds a setpoint for its duration, then hands control back."""
    entry_id = init_integration.entry_id
    device = dr.async_get(hass).async_get_device_by_identifier((DOMAIN, entry_id), entry_id)
    assert device is not None
    await hass.services.async_call(
        DOMAIN,
        "set_ess_setpoint",
        {"device_id": device.id, "setpoint": 1200, "duration": {"seconds": 2}},
        blocking=True,
    )
    assert _near(_device_input_power(simulator), 1200)
    assert hass.states.get(CONTROL).state == STATE_ON
    await wait_until(lambda: hass.states.get(CONTROL).state == STATE_OFF, SETTLE)
    assert hass.states.get(CONTROL).attributes["reason"] == "duration ended"
    await wait_until(lambda: _ess(simulator).setpoint is None, SETTLE)

    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            DOMAIN, "set_ess_setpoint", {"device_id": device.id, "setpoint": 50000}, blocking=True
        )
    await hass.services.async_call(DOMAIN, "release_ess_control", {"device_id": device.id}, blocking=True)


@pytest.mark.parametrize("model", [MultiplusModel(ess=EssAssistant(gx_setpoint=0.0))])
async def test_gx_overwriting_raises_repair_and_stops(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: SimulatorThread,
    coordinator: VictronMk3Coordinator,
) -> None:
    """A GX keeps the grid at its own setpoint: repair issue, control stops writing."""
    controller = _manager(coordinator).controller
    assert controller is not None
    controller.follow_timeout = 3.0
    await _set(hass, 1500)
    registry = ir.async_get(hass)
    ident = issue_id(ESS_NOT_FOLLOWING, ENTRY_ID)
    await wait_until(lambda: registry.async_get_issue(DOMAIN, ident) is not None, SETTLE)
    assert controller.state is EssState.NOT_FOLLOWING
    await hass.async_block_till_done()
    assert hass.states.get(CONTROL).state == STATE_OFF
    assert hass.states.get(CONTROL).attributes["control_state"] == "not_following"
    writes = _ess(simulator).writes
    await asyncio.sleep(1.5)
    assert _ess(simulator).writes == writes


@pytest.mark.parametrize("model", [MultiplusModel(ess=EssAssistant(layout=NO_ESS))])
async def test_no_ess_assistant_no_entities(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    simulator: SimulatorThread,
) -> None:
    """Option on, assistant absent: no control entities, diagnostics say why."""
    assert hass.states.get(SETPOINT) is None
    assert hass.states.get(CONTROL) is None
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    assert "no ESS assistant" in diagnostics["ess"]["discovery"]["reason"]
    assert _ess(simulator).writes == 0


async def test_unload_stops_writing(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: SimulatorThread
) -> None:
    """Home Assistant stopping (the entry unloading) stops the keep-alive."""
    await _set(hass, 700)
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()
    writes = _ess(simulator).writes
    await wait_until(lambda: _ess(simulator).setpoint is None, SETTLE)  # the device fell back
    assert _ess(simulator).writes == writes


@pytest.mark.parametrize("options", [{}])
async def test_options_flow_turns_control_on(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """The option is off at first; turned on, the entry reloads with the control entities."""
    assert hass.states.get(SETPOINT) is None
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    assert result["step_id"] == "init"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_ESS_CONTROL: True, "ess_max_import": 2000, "ess_max_export": 1000}
    )
    await hass.async_block_till_done()
    assert init_integration.options[CONF_ESS_CONTROL] is True
    await wait_until(lambda: hass.states.get(SETPOINT) is not None, SETTLE)
    state = hass.states.get(SETPOINT)
    assert state.attributes["min"] == -1000
    assert state.attributes["max"] == 2000


async def test_link_fault_releases_control(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: SimulatorThread,
    coordinator: VictronMk3Coordinator,
) -> None:
    """Unplugged while holding: writes stop, the switch shows why, the Multi falls back."""
    await _set(hass, 900)
    await unplug(simulator, coordinator.client)
    await wait_until(lambda: _manager(coordinator).state is EssState.LINK_LOST, SETTLE)
    await wait_until(lambda: _ess(simulator).setpoint is None, SETTLE)
    simulator.replug()
    await wait_until(lambda: coordinator.fault is None and coordinator.sampler.running, SETTLE)
    await hass.async_block_till_done()
    state = hass.states.get(CONTROL)
    assert state.state == STATE_OFF
    assert state.attributes["control_state"] == "link_lost"
    writes = _ess(simulator).writes
    await asyncio.sleep(1.0)
    assert _ess(simulator).writes == writes  # not resumed on its own after the reconnect


async def test_switch_on_holds_the_last_setpoint(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: SimulatorThread
) -> None:
    """Off then on again: the last setpoint is held again (0 W before any was set)."""
    await hass.services.async_call("switch", SERVICE_TURN_ON, {ATTR_ENTITY_ID: CONTROL}, blocking=True)
    assert _ess(simulator).setpoint == 0
    await _set(hass, 600)
    await hass.services.async_call("switch", SERVICE_TURN_OFF, {ATTR_ENTITY_ID: CONTROL}, blocking=True)
    await hass.services.async_call("switch", SERVICE_TURN_ON, {ATTR_ENTITY_ID: CONTROL}, blocking=True)
    assert _ess(simulator).setpoint == -600
    assert float(hass.states.get(SETPOINT).state) == 600

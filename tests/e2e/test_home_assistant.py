"""A user's afternoon with a real Home Assistant and the simulated MultiPlus-II.

Everything goes through Home Assistant's public API, as the frontend does: onboarding, adding
the integration with its config flow, the options flow, reading states, calling actions. What
Home Assistant shows is compared with the simulator's model (the "physical" device), and what
the device received is read from the simulator.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
import itertools
import json
import math
import re
import time

import pytest

from custom_components.victron_mk3.vebus_mk3.const import InterfaceFlags, Led, SwitchState
from custom_components.victron_mk3.vebus_mk3.simulator import Simulator, SimulatorThread
from scripts.lib.hassdev import DASHBOARD_URL_PATH, DOMAIN, HomeAssistantClient, wait_for

from .conftest import HomeAssistant

pytestmark = pytest.mark.e2e

SCAN_INTERVAL = 5  # the options flow's minimum: keeps the unplug/replug part short
WAIT = 20.0  # a few polls


@dataclass(frozen=True)
class Expected:
    """An entity state the device's model implies: text, or a number within a tolerance."""

    value: str | float
    tolerance: float = 0.0  # absolute
    relative: float = 0.0

    def matches(self, state: str) -> bool:
        if isinstance(self.value, str):
            return state == self.value
        try:
            number = float(state)
        except ValueError:
            return False
        return math.isclose(number, self.value, abs_tol=self.tolerance, rel_tol=self.relative)


def _mode(state: SwitchState) -> str:
    return {
        SwitchState.ON: "on",
        SwitchState.OFF: "off",
        SwitchState.CHARGER_ONLY: "charger_only",
        SwitchState.INVERTER_ONLY: "inverter_only",
    }[state]


def _leds(leds: Led) -> str:
    return "|".join(led.name.lower() for led in Led if led in leds and led.name) or "none"


def model_expectations(sim: Simulator) -> dict[str, Expected]:
    """Entity key → the state the model implies, within the protocol's resolution."""
    model, flows = sim.model, sim.model.flows()
    phase = flows.phase
    volts, amps, hertz = 0.011, 0.011, 0.2
    watts = 0.01  # relative: powers are products of rounded quantities
    actual = (
        SwitchState.ON
        if model.result_charge and model.result_invert
        else SwitchState.CHARGER_ONLY
        if model.result_charge
        else SwitchState.INVERTER_ONLY
        if model.result_invert
        else SwitchState.OFF
    )
    return {
        "remote_panel_mode": Expected(_mode(model.switch_state)),
        "remote_panel_current_limit": Expected(model.current_limit, 0.05),
        "remote_panel_standby": Expected("on" if model.interface_flags & InterfaceFlags.STANDBY else "off"),
        "device_state": Expected(flows.state.name.lower()),
        "actual_mode": Expected(_mode(actual)),
        "front_panel_mode": Expected(model.front_switch.name.lower()),
        "lit_indicators": Expected(_leds(flows.leds_on)),
        "blinking_indicators": Expected(_leds(flows.leds_blink)),
        "ac_input_current_limit": Expected(model.current_limit, 0.05),
        "ac_input_voltage": Expected(phase.mains_voltage, volts),
        "ac_input_current": Expected(phase.mains_current, amps),
        "ac_input_frequency": Expected(phase.mains_frequency, hertz),
        "ac_output_voltage": Expected(phase.output_voltage, volts),
        # The AC info frame's "inverter current": the bridge's, not the load's.
        "ac_output_current": Expected(phase.inverter_current, amps),
        "ac_output_frequency": Expected(flows.inverter_frequency, hertz),
        "ac_input_power": Expected(phase.input_power, 1.0, watts),
        "ac_output_power": Expected(phase.output_power, 1.0, watts),
        "battery_voltage": Expected(flows.battery_voltage, volts),
        "battery_charger_current": Expected(max(0.0, flows.battery_current), 0.1),
        "battery_inverter_current": Expected(max(0.0, -flows.battery_current), 0.1),
        "battery_power": Expected(flows.battery_voltage * flows.battery_current, 2.0, watts),
    }


async def wait_for_states(
    api: HomeAssistantClient,
    entities: dict[str, str],
    expected: Callable[[], dict[str, Expected]],
    what: str,
    within: float = WAIT,
) -> None:
    """Until every entity shows what the model implies; a table of the differences otherwise."""
    mismatches: list[str] = []
    deadline = time.monotonic() + within
    while True:
        wanted = expected()
        states = await api.states()
        mismatches = [
            f"  {entities[key]}: Home Assistant shows {states.get(entities[key], {}).get('state')!r},"
            f" the device implies {want.value!r}"
            for key, want in wanted.items()
            if not want.matches(states.get(entities[key], {}).get("state", "<missing>"))
        ]
        if not mismatches:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: after {within:.0f} s\n" + "\n".join(mismatches))
        await asyncio.sleep(0.25)


async def states_of(api: HomeAssistantClient, entity_ids: list[str]) -> set[str]:
    states = await api.states()
    return {states[entity_id]["state"] for entity_id in entity_ids}


ENTITY_ID = re.compile(r"\b(?:sensor|binary_sensor|select|number|switch|button)\.victron_mk3_\w+")
LOG_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ (\w+) \(([^)]*)\) \[([^\]]+)\] ", re.MULTILINE)
EXPECTED_WARNINGS = (
    "We found a custom integration victron_mk3",  # every custom integration gets this one
    "Error fetching Victron MK3 data",  # the coordinator, when a poll fails while the cable is out
    "Error requesting Victron MK3 data",  # the same, for data pushed to the coordinator
)


def integration_problems(log: str) -> list[str]:
    """Warnings and errors that concern the integration, except those the story expects."""
    starts = [match.start() for match in LOG_RECORD.finditer(log)] + [len(log)]
    problems = []
    for start, end in itertools.pairwise(starts):
        record = log[start:end]
        match = LOG_RECORD.match(record)
        assert match is not None
        level = match.group(1)
        if level not in ("WARNING", "ERROR", "CRITICAL") or "victron_mk3" not in record:
            continue
        if not any(text in record for text in EXPECTED_WARNINGS) or "Traceback" in record:
            problems.append(record.strip())
    return problems


async def test_user_adds_the_multiplus_controls_it_and_survives_an_unplugged_cable(
    home_assistant: HomeAssistant, simulator: SimulatorThread
) -> None:
    """Onboard, add the integration, compare with the device, act, unplug and replug."""
    api = home_assistant.api
    assert home_assistant.onboarded, "a fresh configuration goes through onboarding"
    steps = await api.onboarding_status()
    assert steps is None or all(steps.values()), f"the frontend would show the onboarding wizard: {steps}"

    # Settings → Devices & services → Add integration → Victron MK3 → the port.
    result = await api.add_integration({"port": simulator.url})
    entry_id = result["result"]["entry_id"]
    assert result["title"] == "Victron MK3"
    assert [entry["state"] for entry in await api.config_entries()] == ["loaded"]
    # What the frontend loads at start: every action with its description (the action editor's list).
    actions = await api.ws("get_services")
    assert set(actions[DOMAIN]) == {
        "set_remote_panel_state",
        "set_standby",
        "probe",
        "set_ess_setpoint",
        "release_ess_control",
    }
    assert actions[DOMAIN]["set_remote_panel_state"]["fields"]["mode"]["required"] is True

    # ⋮ → Configure: poll every 5 s. The entry reloads with it.
    options = await api.set_options(entry_id, {"scan_interval": SCAN_INTERVAL, "phases": []})
    assert options["type"] == "create_entry"
    await wait_for(
        lambda: _entry_state(api, "loaded"), WAIT, "the entry to load again after the options changed"
    )

    entities = await api.entities(entry_id)
    device_id = await api.device_id(entry_id)

    def expectations() -> dict[str, Expected]:
        return simulator.call(model_expectations)

    assert set(expectations()) <= set(entities), f"entities: {sorted(entities)}"
    await wait_for_states(api, entities, expectations, "the device as first read")
    # The MK3's firmware is on its interface device (the sensor for it starts disabled).
    devices = await api.ws("config/device_registry/list")
    interface = [device for device in devices if [DOMAIN, f"{entry_id}-interface"] in device["identifiers"]]
    assert [device["sw_version"] for device in interface] == [
        str(simulator.call(lambda sim: sim.model.interface_version))
    ]

    # Reading never changes the remote panel state: no S command has gone out.
    assert simulator.call(lambda sim: sim.count("S")) == 0, simulator.call(lambda sim: sim.letters)

    # The action a user's automation calls: charger only, 10 A from the grid.
    await api.call_service(
        DOMAIN,
        "set_remote_panel_state",
        {"device_id": device_id, "mode": "charger_only", "current_limit": 10},
    )
    assert simulator.call(lambda sim: sim.count("S")) == 1
    assert simulator.call(lambda sim: (sim.model.switch_state, sim.model.current_limit)) == (
        SwitchState.CHARGER_ONLY,
        10.0,
    )
    # The integration read the new state back at once; the rest follows with the next poll.
    assert (await api.state(entities["remote_panel_mode"]) or {}).get("state") == "charger_only"
    await wait_for_states(api, entities, expectations, "the device after set_remote_panel_state")

    # The standby switch on the device page.
    await api.call_service("switch", "turn_on", {"entity_id": entities["remote_panel_standby"]})
    assert simulator.call(lambda sim: bool(sim.model.interface_flags & InterfaceFlags.STANDBY))
    await wait_for_states(api, entities, expectations, "the device with standby on")

    # Someone pulls the MK3's USB cable: everything goes unavailable, nothing is made up.
    readings = [entities[key] for key in ("battery_voltage", "ac_input_power", "remote_panel_mode")]
    simulator.unplug()
    await wait_for(
        lambda: _all_in(api, readings, {"unavailable"}), WAIT, "the entities to become unavailable"
    )
    # ... and plugs it back in: the same port comes back and so do the readings, unprompted.
    simulator.replug()
    await wait_for_states(api, entities, expectations, "the device after the cable came back")
    assert [entry["state"] for entry in await api.config_entries()] == ["loaded"], "no reload needed"
    # Recovery did not touch the device's settings: still the one S command of the user.
    assert simulator.call(lambda sim: sim.count("S")) == 1

    # The example dashboard (develop/dashboard.yaml) names only entities that exist, and shows
    # every primary one (diagnostics may stay on the device page).
    dashboard = await api.ws("lovelace/config", url_path=DASHBOARD_URL_PATH)
    shown = set(ENTITY_ID.findall(json.dumps(dashboard)))
    missing = shown - set(await api.states())
    assert not missing, f"develop/dashboard.yaml names entities that do not exist: {sorted(missing)}"
    registry = await api.ws("config/entity_registry/list")
    primary = {
        entry["entity_id"]
        for entry in registry
        if entry["config_entry_id"] == entry_id and not entry["entity_category"] and not entry["disabled_by"]
    }
    assert primary <= shown, f"develop/dashboard.yaml leaves out {sorted(primary - shown)}"

    problems = integration_problems(home_assistant.process.log_since_start())
    assert not problems, "the log has warnings about the integration:\n\n" + "\n\n".join(problems)


async def _entry_state(api: HomeAssistantClient, state: str) -> bool:
    return [entry["state"] for entry in await api.config_entries()] == [state]


async def _all_in(api: HomeAssistantClient, entity_ids: list[str], allowed: set[str]) -> bool:
    return await states_of(api, entity_ids) <= allowed

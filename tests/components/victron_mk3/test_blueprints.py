"""The blueprints in blueprints/automation/victron_mk3/: imported, instantiated, firing at the device.

Each blueprint goes the way a user's does: imported from a URL through the websocket API (here a
web server on loopback that serves the repository's file, as GitHub would), saved, used by an
automation, and triggered; the effect is read from the simulated device.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events
from pytest_homeassistant_custom_component.typing import WebSocketGenerator
import yaml

from custom_components.victron_mk3.const import DOMAIN
from custom_components.victron_mk3.vebus_mk3.const import InterfaceFlags, SwitchState
from custom_components.victron_mk3.vebus_mk3.simulator import Simulator, SimulatorThread

from .common import wait_until

BLUEPRINTS = Path(__file__).parents[3] / "blueprints" / "automation" / "victron_mk3"
WAIT = 30.0
LIMIT = "number.victron_mk3_remote_panel_current_limit"
STANDBY = "switch.victron_mk3_remote_panel_standby"
TEMPERATURE = "binary_sensor.victron_mk3_temperature_indicator"
ALWAYS = {day: [{"from": "00:00:00", "to": "24:00:00"}] for day in ("monday", "tuesday", "wednesday",
          "thursday", "friday", "saturday", "sunday")}  # fmt: skip


@pytest.fixture(autouse=True)
def _loopback(socket_enabled: None) -> None:
    """The blueprints are served over loopback HTTP."""


@pytest.fixture
def hass_config_dir(hass_tmp_config_dir: str) -> str:
    """A configuration directory of the test's own: blueprints and configuration.yaml go there."""
    return hass_tmp_config_dir


@pytest.fixture
async def blueprint_server() -> AsyncIterator[str]:
    """The repository's blueprint folder on a loopback web server: its base URL."""
    app = web.Application()
    app.router.add_static("/", BLUEPRINTS)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def import_blueprint(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, base_url: str, name: str
) -> str:
    """Import and save a blueprint as the frontend's import dialog does; its path for use_blueprint."""
    # As in a default configuration: automations (none yet) offer the blueprint domain.
    assert await async_setup_component(hass, "automation", {})
    client = await hass_ws_client(hass)
    await client.send_json_auto_id({"type": "blueprint/import", "url": f"{base_url}/{name}.yaml"})
    answer = await client.receive_json()
    assert answer["success"], answer
    imported = answer["result"]
    assert imported["blueprint"]["metadata"]["domain"] == "automation"
    assert imported["validation_errors"] is None
    path = f"victron_mk3/{name}"
    await client.send_json_auto_id(
        {
            "type": "blueprint/save",
            "domain": "automation",
            "path": path,
            "yaml": imported["raw_data"],
            "source_url": f"{base_url}/{name}.yaml",
        }
    )
    saved = await client.receive_json()
    assert saved["success"], saved
    return f"{path}.yaml"


async def use_blueprint(hass: HomeAssistant, path: str, *inputs: dict[str, Any]) -> None:
    """Automations from the blueprint in configuration.yaml, then Reload automations; all must be on."""
    automations = [
        {
            "id": f"under_test_{index}",
            "alias": f"under test {index}",
            "use_blueprint": {"path": path, "input": given},
        }
        for index, given in enumerate(inputs)
    ]
    text = yaml.safe_dump({"automation": automations}, sort_keys=False)
    await hass.async_add_executor_job(Path(hass.config.path("configuration.yaml")).write_text, text)
    await hass.services.async_call("automation", "reload", {}, blocking=True)
    await hass.async_block_till_done()
    for index in range(len(inputs)):
        state = hass.states.get(f"automation.under_test_{index}")
        assert state is not None, f"automation {index} was not created; see the log"
        assert state.state == "on"


async def wait_device(simulator: SimulatorThread, read: Callable[[Simulator], object], want: object) -> None:
    await wait_until(lambda: simulator.call(read) == want, WAIT)


def _switch_state(sim: Simulator) -> SwitchState:
    return sim.model.switch_state


def _limit(sim: Simulator) -> float:
    return sim.model.current_limit


async def create_schedule(hass: HomeAssistant, hass_ws_client: WebSocketGenerator, name: str) -> str:
    """A schedule helper, made in the UI's way, that is off (no times yet)."""
    assert await async_setup_component(hass, "schedule", {})
    client = await hass_ws_client(hass)
    await client.send_json_auto_id({"type": "schedule/create", "name": name})
    answer = await client.receive_json()
    assert answer["success"], answer
    await hass.async_block_till_done()
    assert hass.states.get(f"schedule.{name}").state == "off"
    return str(answer["result"]["id"])


async def update_schedule(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, schedule_id: str, name: str, days: dict[str, Any]
) -> None:
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {"type": "schedule/update", "schedule_id": schedule_id, "name": name, **days}
    )
    answer = await client.receive_json()
    assert answer["success"], answer
    await hass.async_block_till_done()


async def test_generator_sets_mode_and_limit(
    *,
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    blueprint_server: str,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
    simulator: SimulatorThread,
) -> None:
    path = await import_blueprint(hass, hass_ws_client, blueprint_server, "generator_or_shore_power")
    assert await async_setup_component(hass, "input_boolean", {"input_boolean": {"generator": {}}})
    entry_id = init_integration.entry_id
    device = device_registry.async_get_device_by_identifier((DOMAIN, entry_id), entry_id)
    assert device is not None
    await use_blueprint(
        hass,
        path,
        {"multi": device.id, "source": "input_boolean.generator", "mode_on": "charger_only", "limit_on": 12.5,
         "mode_off": "on", "limit_off": 99},
    )  # fmt: skip

    await hass.services.async_call("input_boolean", "turn_on", {ATTR_ENTITY_ID: "input_boolean.generator"})
    await wait_device(simulator, _switch_state, SwitchState.CHARGER_ONLY)
    assert simulator.call(_limit) == 12.5
    await hass.services.async_call("input_boolean", "turn_off", {ATTR_ENTITY_ID: "input_boolean.generator"})
    await wait_device(simulator, _switch_state, SwitchState.ON)
    # 99 A is beyond the device's range: the blueprint sent its maximum instead of failing.
    assert simulator.call(_limit) == simulator.call(lambda sim: sim.model.current_limit_max)


async def test_limit_follows_an_input_number(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    blueprint_server: str,
    init_integration: MockConfigEntry,
    simulator: SimulatorThread,
) -> None:
    path = await import_blueprint(hass, hass_ws_client, blueprint_server, "current_limit_follows_number")
    numbers = {"input_number": {"shore": {"min": 0, "max": 100, "step": 0.5, "initial": 10}}}
    assert await async_setup_component(hass, "input_number", numbers)
    await use_blueprint(hass, path, {"source": "input_number.shore", "limit": LIMIT})

    await hass.services.async_call(
        "input_number", "set_value", {ATTR_ENTITY_ID: "input_number.shore", "value": 20.5}
    )
    await wait_device(simulator, _limit, 20.5)
    await hass.services.async_call(
        "input_number", "set_value", {ATTR_ENTITY_ID: "input_number.shore", "value": 1}
    )
    await wait_device(simulator, _limit, simulator.call(lambda sim: sim.model.current_limit_min))


async def test_limit_by_schedule(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    blueprint_server: str,
    init_integration: MockConfigEntry,
    simulator: SimulatorThread,
) -> None:
    path = await import_blueprint(hass, hass_ws_client, blueprint_server, "current_limit_schedule")
    schedule_id = await create_schedule(hass, hass_ws_client, "cheap_hours")
    await use_blueprint(
        hass, path, {"schedule": "schedule.cheap_hours", "limit": LIMIT, "limit_on": 25, "limit_off": 8}
    )
    await update_schedule(hass, hass_ws_client, schedule_id, "cheap_hours", ALWAYS)
    assert hass.states.get("schedule.cheap_hours").state == "on"
    await wait_device(simulator, _limit, 25.0)
    await update_schedule(hass, hass_ws_client, schedule_id, "cheap_hours", {})
    await wait_device(simulator, _limit, 8.0)


async def test_standby_during_a_schedule(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    blueprint_server: str,
    init_integration: MockConfigEntry,
    simulator: SimulatorThread,
) -> None:
    path = await import_blueprint(hass, hass_ws_client, blueprint_server, "standby_schedule")
    schedule_id = await create_schedule(hass, hass_ws_client, "awake")
    await use_blueprint(hass, path, {"schedule": "schedule.awake", "standby": STANDBY})

    def standby(sim: Simulator) -> bool:
        return bool(sim.model.interface_flags & InterfaceFlags.STANDBY)

    await update_schedule(hass, hass_ws_client, schedule_id, "awake", ALWAYS)
    await wait_device(simulator, standby, True)
    assert hass.states.get(STANDBY).state == "on"
    await update_schedule(hass, hass_ws_client, schedule_id, "awake", {})
    await wait_device(simulator, standby, False)


async def test_alert_on_temperature(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    blueprint_server: str,
    init_integration: MockConfigEntry,
    simulator: SimulatorThread,
) -> None:
    """The default action (a notification) and a user's own action both run."""
    path = await import_blueprint(hass, hass_ws_client, blueprint_server, "alert_on_warning")
    indicators = [
        f"binary_sensor.victron_mk3_{name}_indicator" for name in ("overload", "low_battery", "temperature")
    ]
    alerts: list[Event] = async_capture_events(hass, "victron_alert")
    assert await async_setup_component(hass, "persistent_notification", {})
    own = {
        "indicators": indicators,
        "alert": [{"event": "victron_alert", "event_data": {"warning": "{{ warning }}"}}],
    }
    await use_blueprint(hass, path, {"indicators": indicators}, own)
    assert hass.states.get(TEMPERATURE).state == "off"

    simulator.call(lambda sim: setattr(sim.model, "over_temperature", True))
    await wait_until(lambda: bool(alerts), WAIT)
    assert alerts[0].data["warning"] == "Victron MK3 Temperature indicator"
    client = await hass_ws_client(hass)
    await client.send_json_auto_id({"type": "persistent_notification/subscribe"})
    assert (await client.receive_json())["success"]
    notifications = (await client.receive_json())["event"]["notifications"]
    assert [n["message"] for n in notifications.values()] == ["Victron MK3 Temperature indicator is on."]

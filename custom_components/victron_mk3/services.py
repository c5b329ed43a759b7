"""Actions: set the remote panel state, set standby, probe the link."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv, device_registry as dr
import probatio

from .const import ATTR_CURRENT_LIMIT, ATTR_DEVICE_ID, ATTR_ENABLED, ATTR_MODE, CONF_PORT, DOMAIN
from .coordinator import VictronMk3ConfigEntry, VictronMk3Coordinator
from .models import PanelMode, actual_mode, front_panel_mode, indicator_names, remote_panel_mode
from .vebus_mk3 import DeviceStatus, probe

SERVICE_SET_REMOTE_PANEL_STATE = "set_remote_panel_state"
SERVICE_SET_STANDBY = "set_standby"
SERVICE_PROBE = "probe"

SET_REMOTE_PANEL_STATE_SCHEMA = probatio.Schema(
    {
        probatio.Required(ATTR_DEVICE_ID): cv.string,
        probatio.Required(ATTR_MODE): probatio.In([mode.value for mode in PanelMode]),
        probatio.Optional(ATTR_CURRENT_LIMIT): probatio.Coerce(float),
    }
)
SET_STANDBY_SCHEMA = probatio.Schema(
    {
        probatio.Required(ATTR_DEVICE_ID): cv.string,
        probatio.Required(ATTR_ENABLED): cv.boolean,
    }
)
PROBE_SCHEMA = probatio.Schema({probatio.Required(ATTR_DEVICE_ID): cv.string})


def _config_entry(hass: HomeAssistant, call: ServiceCall) -> VictronMk3ConfigEntry:
    device_id: str = call.data[ATTR_DEVICE_ID]
    if (device := dr.async_get(hass).async_get(device_id)) and device.config_entry_id:
        entry = hass.config_entries.async_get_entry(device.config_entry_id)
        if entry is not None and entry.domain == DOMAIN:
            return entry
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="device_not_found",
        translation_placeholders={"device_id": device_id},
    )


def _coordinator(hass: HomeAssistant, call: ServiceCall) -> VictronMk3Coordinator:
    entry = _config_entry(hass, call)
    # The caller picked a device that is not set up: a validation error, not a failure of the action.
    if entry.state is not ConfigEntryState.LOADED:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="not_loaded",
            translation_placeholders={"title": entry.title},
        )
    return entry.runtime_data


# For the actions of other modules (ESS control): the loaded entry's coordinator of a call.
coordinator_of_call = _coordinator


async def _async_set_remote_panel_state(call: ServiceCall) -> None:
    coordinator = _coordinator(call.hass, call)
    await coordinator.async_set_remote_panel_state(
        PanelMode(call.data[ATTR_MODE]), call.data.get(ATTR_CURRENT_LIMIT)
    )


async def _async_set_standby(call: ServiceCall) -> None:
    await _coordinator(call.hass, call).async_set_standby(call.data[ATTR_ENABLED])


def describe_status(status: DeviceStatus) -> dict[str, Any]:
    """What the device reported, in the words the entities use (None for parts not read)."""
    config, leds, dc, state = status.config, status.leds, status.dc, status.device_state
    register = config.switch_register if config is not None else None
    return {
        "state": state.name.lower() if state is not None else None,
        "phases": sorted(status.ac),
        "remote_panel_mode": remote_panel_mode(register).value if register is not None else None,
        "front_panel_mode": front_panel_mode(register).value if register is not None else None,
        "actual_mode": actual_mode(register).value if register is not None else None,
        "current_limit": config.current_limit if config is not None else None,
        "current_limit_minimum": config.minimum_current_limit if config is not None else None,
        "current_limit_maximum": config.maximum_current_limit if config is not None else None,
        "lit_indicators": indicator_names(leds.on) if leds is not None else None,
        "blinking_indicators": indicator_names(leds.blink) if leds is not None else None,
        "battery_voltage": round(dc.voltage, 2) if dc is not None else None,
    }


async def _async_probe(call: ServiceCall) -> ServiceResponse:
    entry = _config_entry(call.hass, call)
    status: DeviceStatus | None = None
    if entry.state is ConfigEntryState.LOADED:
        result, status = await entry.runtime_data.async_probe()
    else:
        # Not set up (e.g. retrying while the device sleeps): the port is free to open here.
        result = await probe(entry.data[CONF_PORT])
    response: dict[str, Any] = {
        "result": result.status.value,
        "detail": result.detail,
        "interface_version": result.version.version if result.version else None,
        "elapsed": round(result.elapsed, 3),
    }
    if status is not None:
        response["device"] = describe_status(status)
    return response


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the actions (once, for every entry)."""
    hass.services.async_register(
        DOMAIN,
        SERVICE_SET_REMOTE_PANEL_STATE,
        _async_set_remote_panel_state,
        schema=SET_REMOTE_PANEL_STATE_SCHEMA,
    )
    hass.services.async_register(DOMAIN, SERVICE_SET_STANDBY, _async_set_standby, schema=SET_STANDBY_SCHEMA)
    hass.services.async_register(
        DOMAIN,
        SERVICE_PROBE,
        _async_probe,
        schema=PROBE_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )

"""ESS external control in Home Assistant: opt-in, discovery, the setpoint, the repair issue.

Nothing here writes to the device unless the entry's ``ess_control`` option is on. The
setpoint is in Home Assistant's convention (positive = taking power from the grid), clamped by
the options' limits; the library turns the sign and keeps it alive. When Home Assistant stops,
the entry unloads or the link fails, the writes stop and the Multi falls back to its own ESS
behaviour within its timeout (about 15 s).

Built for the single addressed unit (the system master). Per-phase control of a multi-unit
system is an extension point: one discovery and one ``EssController`` per phase master.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from homeassistant.core import HomeAssistant, ServiceCall, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv, issue_registry as ir
import probatio

from .const import (
    ATTR_DEVICE_ID,
    CONF_ESS_CONTROL,
    CONF_ESS_MAX_EXPORT,
    CONF_ESS_MAX_IMPORT,
    DEFAULT_ESS_MAX_EXPORT,
    DEFAULT_ESS_MAX_IMPORT,
    DOMAIN,
    LOGGER,
)
from .errors import error_translation, link_down, out_of_range
from .repairs import issue_id
from .services import coordinator_of_call
from .vebus_mk3 import Mk3Client, Mk3Error, NoAnswerError, NotConnectedError
from .vebus_mk3.ess import EssDiscovery, discover_ess
from .vebus_mk3.ess_control import EssController, EssState

if TYPE_CHECKING:
    from .coordinator import VictronMk3ConfigEntry, VictronMk3Coordinator

ESS_NOT_FOLLOWING = "ess_not_following"
ATTR_SETPOINT = "setpoint"
ATTR_DURATION = "duration"
SERVICE_SET_ESS_SETPOINT = "set_ess_setpoint"
SERVICE_RELEASE_ESS_CONTROL = "release_ess_control"
# Discovery is a handful of reads; a lost reply is asked again this many times.
DISCOVERY_ATTEMPTS = 3
DISCOVERY_TIMEOUT = 20.0

SET_ESS_SETPOINT_SCHEMA = probatio.Schema(
    {
        probatio.Required(ATTR_DEVICE_ID): cv.string,
        probatio.Required(ATTR_SETPOINT): probatio.Coerce(float),
        probatio.Optional(ATTR_DURATION): cv.positive_time_period,
    }
)
RELEASE_ESS_CONTROL_SCHEMA = probatio.Schema({probatio.Required(ATTR_DEVICE_ID): cv.string})


class EssManager:
    """One entry's ESS control: what discovery found, the controller, the repair issue."""

    def __init__(self, hass: HomeAssistant, entry: VictronMk3ConfigEntry, coordinator: VictronMk3Coordinator):
        """Nothing is read or written until ``async_setup``."""
        self.hass = hass
        self.entry = entry
        self.coordinator = coordinator
        self.discovery: EssDiscovery | None = None
        self.controller: EssController | None = None
        self.last_setpoint = 0.0  # what the switch holds when turned on again
        self._discovered_on_connection = -1

    @property
    def max_import(self) -> float:
        """The largest setpoint (W taken from the grid) the options allow."""
        return float(self.entry.options.get(CONF_ESS_MAX_IMPORT, DEFAULT_ESS_MAX_IMPORT))

    @property
    def max_export(self) -> float:
        """The largest feed-in (W) the options allow, as a positive number."""
        return float(self.entry.options.get(CONF_ESS_MAX_EXPORT, DEFAULT_ESS_MAX_EXPORT))

    @property
    def state(self) -> EssState:
        """RELEASED without a controller."""
        return self.controller.state if self.controller is not None else EssState.RELEASED

    async def async_setup(self) -> None:
        """Find the ESS setpoint (reads only); without it there is no control and no entity."""
        await self._async_discover()
        self.entry.async_on_unload(self.async_close)

    async def _async_discover(self) -> None:
        client = self.coordinator.client
        found: list[EssDiscovery] = []
        reason = "not discovered"

        async def walk(client: Mk3Client) -> None:
            found.append(await discover_ess(client))

        for attempt in range(DISCOVERY_ATTEMPTS):
            try:
                async with asyncio.timeout(DISCOVERY_TIMEOUT):
                    await self.coordinator.sampler.command(walk, read_back=False)
                break
            except (Mk3Error, TimeoutError) as err:
                reason = f"discovery failed: {err or 'timeout'}"
                LOGGER.debug("%s: ESS %s (attempt %d)", client.url, reason, attempt + 1)
                if not isinstance(err, NoAnswerError | TimeoutError):
                    break
        # A walk that did not complete (link trouble) is tried again by the next action.
        self._discovered_on_connection = client.connections if found else -1
        self.discovery = found[0] if found else EssDiscovery((), None, reason)
        if self.discovery.setpoint_id is None:
            LOGGER.warning("%s: ESS control is on, but %s", client.url, self.discovery.reason)
            if self.controller is not None:  # found before the port was reopened, gone now
                await self.controller.close()
                self.controller = None
            return
        if self.controller is not None and self.controller.setpoint_id != self.discovery.setpoint_id:
            await self.controller.close()
            self.controller = None
        if self.controller is None:
            self.controller = EssController(self.coordinator.sampler, self.discovery.setpoint_id)
            self.controller.add_listener(self._on_change)
        LOGGER.info("%s: ESS grid setpoint found at RAM id %d", client.url, self.discovery.setpoint_id)

    async def async_close(self) -> None:
        """Stop writing (unload, restart): the Multi falls back to its own ESS behaviour."""
        if self.controller is not None:
            await self.controller.close()

    async def async_set_setpoint(self, grid_power_w: float, duration: timedelta | None = None) -> None:
        """Hold ``grid_power_w`` (+ = taking from the grid), optionally for ``duration``."""
        minimum, maximum = -self.max_export, self.max_import
        if not minimum <= grid_power_w <= maximum:
            raise out_of_range("ess_setpoint_out_of_range", "setpoint", grid_power_w, minimum, maximum)
        coordinator = self.coordinator
        if coordinator.fault is not None or not coordinator.sampler.running:
            raise link_down(coordinator.client.url)
        if coordinator.client.connections != self._discovered_on_connection:
            await self._async_discover()  # the port was reopened: it may lead to another unit
        controller = self.controller
        if controller is None:
            reason = self.discovery.reason if self.discovery is not None else "not discovered"
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="ess_unavailable",
                translation_placeholders={"reason": reason},
            )
        seconds = duration.total_seconds() if duration is not None else None
        try:
            await controller.hold(grid_power_w, seconds)
        except NotConnectedError as err:
            raise link_down(coordinator.client.url) from err
        except Mk3Error as err:
            raise HomeAssistantError(**error_translation(err, coordinator.client.url)) from err
        self.last_setpoint = grid_power_w
        self._set_issue(None)

    async def async_release(self) -> None:
        """Stop writing: the Multi returns to its own ESS behaviour within its timeout."""
        if self.controller is not None:
            await self.controller.release("released")

    @callback
    def _on_change(self, controller: EssController) -> None:
        if controller.state is EssState.NOT_FOLLOWING:
            self._set_issue(controller.reason)
        self.coordinator.async_update_listeners()

    @callback
    def _set_issue(self, reason: str | None) -> None:
        ident = issue_id(ESS_NOT_FOLLOWING, self.entry.entry_id)
        if reason is None:
            ir.async_delete_issue(self.hass, DOMAIN, ident)
            return
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            ident,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ESS_NOT_FOLLOWING,
            translation_placeholders={"title": self.entry.title, "reason": reason},
        )

    def as_dict(self) -> dict[str, Any]:
        """For diagnostics: what discovery found (or why not) and what control does."""
        return {
            "enabled": True,
            "max_import": self.max_import,
            "max_export": self.max_export,
            "discovery": self.discovery.as_dict() if self.discovery is not None else None,
            "control": self.controller.as_dict() if self.controller is not None else None,
        }


async def async_setup_ess(hass: HomeAssistant, entry: VictronMk3ConfigEntry) -> None:
    """With the option on, discover the setpoint before the platforms add their entities."""
    coordinator = entry.runtime_data
    if not entry.options.get(CONF_ESS_CONTROL, False):
        return
    manager = EssManager(hass, entry, coordinator)
    coordinator.ess = manager
    await manager.async_setup()


def ess_diagnostics(coordinator: VictronMk3Coordinator) -> dict[str, Any]:
    """The diagnostics entry: off, or what discovery and control report."""
    manager = coordinator.ess
    if manager is None:
        return {"enabled": False, "reason": "the ESS control option is off"}
    return manager.as_dict()


def _manager(call: ServiceCall) -> EssManager:
    coordinator = coordinator_of_call(call.hass, call)
    if coordinator.ess is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="ess_disabled",
            translation_placeholders={"title": coordinator.config_entry.title},
        )
    return coordinator.ess


async def _async_set_ess_setpoint(call: ServiceCall) -> None:
    await _manager(call).async_set_setpoint(call.data[ATTR_SETPOINT], call.data.get(ATTR_DURATION))


async def _async_release_ess_control(call: ServiceCall) -> None:
    await _manager(call).async_release()


@callback
def async_setup_ess_services(hass: HomeAssistant) -> None:
    """Register the ESS actions (once, for every entry)."""
    hass.services.async_register(
        DOMAIN, SERVICE_SET_ESS_SETPOINT, _async_set_ess_setpoint, schema=SET_ESS_SETPOINT_SCHEMA
    )
    hass.services.async_register(
        DOMAIN, SERVICE_RELEASE_ESS_CONTROL, _async_release_ess_control, schema=RELEASE_ESS_CONTROL_SCHEMA
    )

"""Owns the MK3 client: polls the device, serialises every request and confirms every write."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import replace
from datetime import timedelta
import time
from typing import Any, Concatenate, ParamSpec, TypeAlias, TypeVar, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from .const import CONF_PHASES, CONF_SCAN_INTERVAL, DEFAULT_SCAN_INTERVAL, DOMAIN, LOGGER
from .models import SWITCH_STATES, PanelMode, VictronMk3Data, remote_panel_mode
from .vebus_mk3 import (
    ConfigInfo,
    DeviceStatus,
    InterfaceFlags,
    LinkEvent,
    LinkIOError,
    Mk3Client,
    Mk3Error,
    NoAnswerError,
    PortInaccessibleError,
    ProbeResult,
    ProbeStatus,
    StatusReader,
)

VictronMk3ConfigEntry: TypeAlias = ConfigEntry["VictronMk3Coordinator"]
_P = ParamSpec("_P")
_R = TypeVar("_R")

# The device rounds limits to 0.1 A; accept what rounds into the range.
LIMIT_TOLERANCE = 0.05
# Events after which the interface may have lost its flags (it resets without VE.Bus power).
FLAG_RESET_EVENTS = frozenset({"connected", "idle", "lost"})


def error_translation(err: Mk3Error, port: str) -> dict[str, Any]:
    """Translation arguments of a Home Assistant error that explains a library fault."""
    if isinstance(err, PortInaccessibleError):
        key = "port_inaccessible"
    elif isinstance(err, NoAnswerError):
        key = "no_answer"
    elif isinstance(err, LinkIOError):
        key = "link_error"
    else:
        key = "device_error"
    return {
        "translation_domain": DOMAIN,
        "translation_key": key,
        "translation_placeholders": {"port": port, "error": str(err)},
    }


def probe_status(err: Mk3Error) -> ProbeStatus:
    """The probe outcome a library fault stands for."""
    if isinstance(err, PortInaccessibleError):
        return ProbeStatus.INACCESSIBLE
    if isinstance(err, NoAnswerError):
        return ProbeStatus.UNRESPONSIVE
    return ProbeStatus.IO_ERROR


def device_command(
    func: Callable[Concatenate[VictronMk3Coordinator, _P], Coroutine[Any, Any, _R]],
) -> Callable[Concatenate[VictronMk3Coordinator, _P], Coroutine[Any, Any, _R]]:
    """Run a command alone on a live link; library faults become translated errors.

    A command while the link is down fails at once: nothing is queued for later.
    """

    async def wrapper(self: VictronMk3Coordinator, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        async with self.lock:
            client = self.client
            if not client.connected or client.idle:
                raise HomeAssistantError(
                    translation_domain=DOMAIN,
                    translation_key="link_down",
                    translation_placeholders={"port": client.url},
                )
            try:
                return await func(self, *args, **kwargs)
            except Mk3Error as err:
                await self.async_handle_fault(err)
                raise HomeAssistantError(**error_translation(err, client.url)) from err

    return wrapper


class VictronMk3Coordinator(DataUpdateCoordinator[VictronMk3Data]):
    """Polls one VE.Bus device through its MK3 interface.

    Never sends the S (state) command on its own: the remote panel setting lives on
    the device and only a user's command may change it.
    """

    config_entry: VictronMk3ConfigEntry

    def __init__(self, hass: HomeAssistant, entry: VictronMk3ConfigEntry, client: Mk3Client) -> None:
        """Poll at the interval from the options, reading the configured phases (or detecting them)."""
        seconds = entry.options.get(CONF_SCAN_INTERVAL)
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=entry.title,
            update_interval=timedelta(seconds=seconds) if seconds else DEFAULT_SCAN_INTERVAL,
        )
        self.client = client
        # L1 is always there; without extra phases configured the reader detects them.
        extra_phases = [int(phase) for phase in entry.options.get(CONF_PHASES, [])]
        self.reader = StatusReader(client, [1, *extra_phases] if extra_phases else None)
        self.lock = asyncio.Lock()
        self.standby_requested = False
        self.interface_flags: InterfaceFlags | None = None
        self._flags_stale = True

    @callback
    def async_on_link_event(self, event: LinkEvent) -> None:
        """Note when the interface may have reset and lost its flags."""
        if event.kind in FLAG_RESET_EVENTS:
            self._flags_stale = True

    @override
    async def _async_update_data(self) -> VictronMk3Data:
        async with self.lock:
            try:
                # A lost link is reopened on the same path here: no reload needed.
                if not self.client.connected:
                    await self.client.connect()
                if self.client.version is None:
                    await self.client.get_version()
                status = await self.reader.read()
                await self._async_sync_interface_flags()
            except Mk3Error as err:
                await self.async_handle_fault(err)
                raise UpdateFailed(**error_translation(err, self.client.url)) from err
        return self._snapshot(status)

    async def async_handle_fault(self, err: Mk3Error) -> None:
        """Forget the flags; drop a broken port so the next poll opens it afresh."""
        self._flags_stale = True
        if isinstance(err, LinkIOError):
            await self.client.close()

    async def _async_sync_interface_flags(self) -> None:
        """Read the interface flags once per connection; put standby back when the user wants it."""
        if not self._flags_stale:
            return
        try:
            flags = await self.client.get_interface_flags()
            if self.standby_requested and InterfaceFlags.STANDBY not in flags:
                LOGGER.debug("Re-asserting standby on %s", self.client.url)
                flags = await self.client.set_interface_flags(flags | InterfaceFlags.STANDBY)
        except NoAnswerError:
            # An MK2 has no H command; the status read just worked, so the link is fine.
            LOGGER.debug("%s does not answer the interface flags query", self.client.url)
            flags = None
        self.interface_flags = flags
        self._flags_stale = False

    def _snapshot(self, status: DeviceStatus) -> VictronMk3Data:
        version = self.client.version
        return VictronMk3Data(
            status=status,
            interface_version=version.version if version else None,
            interface_flags=self.interface_flags,
        )

    # ---- remote panel state ---------------------------------------------------

    async def async_set_remote_panel_state(self, mode: PanelMode, current_limit: float | None) -> None:
        """Set mode and current limit; without a limit the device's present limit is kept."""
        config = self.data.status.config
        minimum, maximum = config.minimum_current_limit, config.maximum_current_limit
        if current_limit is not None and not (
            minimum - LIMIT_TOLERANCE <= current_limit <= maximum + LIMIT_TOLERANCE
        ):
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="current_limit_out_of_range",
                translation_placeholders={
                    "current_limit": f"{current_limit:g}",
                    "minimum": f"{minimum:g}",
                    "maximum": f"{maximum:g}",
                },
            )
        await self._async_write_remote_panel_state(mode, current_limit)

    @device_command
    async def _async_write_remote_panel_state(self, mode: PanelMode, current_limit: float | None) -> None:
        # Never let the library's "None = maximum" apply: a mode change keeps the limit.
        limit = self.data.status.config.current_limit if current_limit is None else current_limit
        LOGGER.debug("Setting remote panel state %s, current limit %s A", mode, limit)
        await self.client.set_state(SWITCH_STATES[mode], limit)
        config = await self.client.get_config()
        self._publish_config(config)
        reported = remote_panel_mode(config.switch_register)
        if reported is not mode:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="not_confirmed",
                translation_placeholders={"requested": mode, "reported": reported},
            )

    def _publish_config(self, config: ConfigInfo) -> None:
        status = replace(self.data.status, config=config)
        self.async_set_updated_data(replace(self.data, status=status))

    # ---- standby --------------------------------------------------------------

    async def async_set_standby(self, enabled: bool) -> None:
        """Keep the device from sleeping (costs battery) or let it sleep again."""
        await self._async_write_standby(enabled)

    @device_command
    async def _async_write_standby(self, enabled: bool) -> None:
        flags = await self.client.get_interface_flags()
        wanted = flags | InterfaceFlags.STANDBY if enabled else flags & ~InterfaceFlags.STANDBY
        reported = await self.client.set_interface_flags(wanted)
        self.interface_flags = reported
        self._flags_stale = False
        self.standby_requested = enabled
        self.async_set_updated_data(replace(self.data, interface_flags=reported))
        if (InterfaceFlags.STANDBY in reported) is not enabled:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="not_confirmed",
                translation_placeholders={
                    "requested": "standby" if enabled else "no standby",
                    "reported": str(int(reported)),
                },
            )

    @callback
    def async_restore_standby(self, enabled: bool) -> None:
        """Take the standby wish kept over a restart; the next poll asserts it on the interface."""
        self.standby_requested = enabled
        if enabled:
            self._flags_stale = True
            self.config_entry.async_create_background_task(
                self.hass, self.async_request_refresh(), f"{DOMAIN} restore standby"
            )

    # ---- probe ----------------------------------------------------------------

    async def async_probe(self) -> tuple[ProbeResult, DeviceStatus | None]:
        """Check the link now: open it if needed, then ask the interface and the device."""
        started = time.monotonic()
        async with self.lock:
            try:
                if not self.client.connected:
                    await self.client.connect()
                version = await self.client.get_version()
                status = await self.reader.read()
            except Mk3Error as err:
                await self.async_handle_fault(err)
                return ProbeResult(probe_status(err), str(err), elapsed=time.monotonic() - started), None
        self.async_set_updated_data(self._snapshot(status))
        detail = f"MK3 interface version {version.version}"
        return ProbeResult(ProbeStatus.OK, detail, version, time.monotonic() - started), status

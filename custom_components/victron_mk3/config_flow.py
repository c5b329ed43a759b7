"""Config flow: pick or type the interface's port, prove an MK3 answers, then create the entry."""

from __future__ import annotations

import os
from typing import Any

from homeassistant.components import usb
from homeassistant.config_entries import (
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.const import CONF_MODEL, CONF_PORT, CONF_SCAN_INTERVAL
from homeassistant.core import callback
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    SerialPortSelector,
)
from homeassistant.helpers.service_info.usb import UsbServiceInfo
import probatio

from .const import (
    CONF_ESS_CONTROL,
    CONF_ESS_MAX_EXPORT,
    CONF_ESS_MAX_IMPORT,
    CONF_PHASES,
    CONF_SERIAL_NUMBER,
    DEFAULT_ESS_MAX_EXPORT,
    DEFAULT_ESS_MAX_IMPORT,
    DEFAULT_NAME,
    DEFAULT_SCAN_INTERVAL,
    DOMAIN,
    ESS_LIMIT_MAX,
    LOGGER,
    MAX_SCAN_INTERVAL_SECONDS,
    MIN_SCAN_INTERVAL_SECONDS,
    PHASES,
)
from .coordinator import VictronMk3ConfigEntry
from .migration import CURRENT_MINOR_VERSION, CURRENT_VERSION
from .vebus_mk3 import ProbeResult, probe

BY_ID_DIRECTORY = "/dev/serial/by-id/"
# A typed path or a serialx URL (socket://host:port for ser2net) is accepted as well.
PORT_SCHEMA = probatio.Schema({probatio.Required(CONF_PORT): SerialPortSelector()})

_ESS_LIMIT = NumberSelector(
    NumberSelectorConfig(
        min=0, max=ESS_LIMIT_MAX, step=50, unit_of_measurement="W", mode=NumberSelectorMode.BOX
    )
)

OPTIONS_SCHEMA = probatio.Schema(
    {
        probatio.Required(CONF_SCAN_INTERVAL, default=DEFAULT_SCAN_INTERVAL.total_seconds()): NumberSelector(
            NumberSelectorConfig(
                min=MIN_SCAN_INTERVAL_SECONDS,
                max=MAX_SCAN_INTERVAL_SECONDS,
                step=0.5,
                unit_of_measurement="s",
                mode=NumberSelectorMode.BOX,
            )
        ),
        # Empty: detect the phases once per setup. L1 is always read.
        probatio.Optional(CONF_PHASES, default=[]): SelectSelector(
            SelectSelectorConfig(
                options=[str(phase) for phase in PHASES if phase != 1],
                multiple=True,
                mode=SelectSelectorMode.LIST,
                translation_key=CONF_PHASES,
            )
        ),
        # ESS external control: off unless the user turns it on (see the form's description).
        # No defaults: an options form submitted without them stores nothing new (absent = off).
        probatio.Optional(CONF_ESS_CONTROL, description={"suggested_value": False}): BooleanSelector(),
        probatio.Optional(
            CONF_ESS_MAX_IMPORT, description={"suggested_value": DEFAULT_ESS_MAX_IMPORT}
        ): _ESS_LIMIT,
        probatio.Optional(
            CONF_ESS_MAX_EXPORT, description={"suggested_value": DEFAULT_ESS_MAX_EXPORT}
        ): _ESS_LIMIT,
    }
)


def _is_device_path(port: str) -> bool:
    return "://" not in port


def _stable_path(port: str) -> str:
    """The /dev/serial/by-id name of a device path: it survives re-plugging and reboots."""
    port = port.strip()
    if not _is_device_path(port):
        return port
    by_id = usb.get_serial_by_id(os.path.realpath(port))
    # Anything else (a udev alias, a pty) is kept as typed: resolving it would pin today's name.
    return by_id if by_id.startswith(BY_ID_DIRECTORY) else port


def _usb_device(port: str) -> usb.USBDevice | None:
    return usb.usb_device_from_path(port) if _is_device_path(port) else None


def _usb_unique_id(device: usb.USBDevice) -> str:
    # The same id USB discovery gives the adapter, as j9brown/victron-mk3-hass used.
    return usb.usb_unique_id_from_service_info(usb.usb_service_info_from_device(device))


def _usb_data(device: usb.USBDevice | None) -> dict[str, Any]:
    if device is None:
        return {}
    return {CONF_MODEL: device.description, CONF_SERIAL_NUMBER: device.serial_number}


def _reconfigured_unique_id(
    entry: VictronMk3ConfigEntry, port: str, device: usb.USBDevice | None
) -> str | None:
    """The id of the adapter the entry will use: a USB id names only that adapter.

    A socket:// URL or a path that is not a USB adapter has none, so a later discovery
    of the old adapter starts a new flow instead of re-pointing this entry. The same
    device path as before keeps its id even when enumeration cannot see it right now.
    """
    if device is not None:
        return _usb_unique_id(device)
    if _is_device_path(port) and port == entry.data[CONF_PORT]:
        return entry.unique_id
    return None


async def _async_probe(port: str) -> tuple[dict[str, str], dict[str, str]]:
    """Errors and placeholders for the form; both empty when an MK3 answered."""
    try:
        result: ProbeResult = await probe(port)
    except Exception:
        LOGGER.exception("Unexpected error while probing %s", port)
        return {"base": "unknown"}, {"detail": ""}
    if result.ok:
        return {}, {}
    return {"base": result.status.value}, {"detail": result.detail}


class VictronMk3ConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up the device behind an MK3 interface."""

    VERSION = CURRENT_VERSION
    MINOR_VERSION = CURRENT_MINOR_VERSION

    _discovered_port: str
    _discovery: UsbServiceInfo

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: VictronMk3ConfigEntry) -> VictronMk3OptionsFlow:
        """Polling options."""
        return VictronMk3OptionsFlow()

    async def _async_set_adapter_id(self, unique_id: str | None) -> None:
        """Set the flow's unique id; an entry on ser2net holding it has a stale one and loses it.

        Earlier releases kept a USB id when an entry moved to a socket:// URL. That entry talks
        to another device now: it keeps its URL, and this adapter is free for this flow.
        """
        known = await self.async_set_unique_id(unique_id)
        if known is not None and not _is_device_path(known.data[CONF_PORT]):
            LOGGER.info("%s uses %s: dropping its stale USB id", known.title, known.data[CONF_PORT])
            self.hass.config_entries.async_update_entry(known, unique_id=None)

    def _unique_title(self) -> str:
        """The default name, numbered from 2 when taken: two interfaces get two device names."""
        titles = {entry.title for entry in self._async_current_entries(include_ignore=False)}
        title, number = DEFAULT_NAME, 1
        while title in titles:
            number += 1
            title = f"{DEFAULT_NAME} {number}"
        return title

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the port; probe it before creating the entry."""
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            port = await self.hass.async_add_executor_job(_stable_path, user_input[CONF_PORT])
            self._async_abort_entries_match({CONF_PORT: port})
            device = await self.hass.async_add_executor_job(_usb_device, port)
            # Set on every submit: an adapter typed first (then refused by the probe) must not
            # lend its id to a ser2net URL typed next, or its discovery would re-point that entry.
            await self._async_set_adapter_id(_usb_unique_id(device) if device is not None else None)
            if device is not None:
                self._abort_if_unique_id_configured(updates={CONF_PORT: port})
            errors, placeholders = await _async_probe(port)
            if not errors:
                return self.async_create_entry(
                    title=self._unique_title(), data={CONF_PORT: port, **_usb_data(device)}
                )
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(PORT_SCHEMA, user_input),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_usb(self, discovery_info: UsbServiceInfo) -> ConfigFlowResult:
        """An MK3 was plugged in; an adapter we know may have a new name now."""
        port = await self.hass.async_add_executor_job(usb.get_serial_by_id, discovery_info.device)
        await self._async_set_adapter_id(usb.usb_unique_id_from_service_info(discovery_info))
        self._abort_if_unique_id_configured(updates={CONF_PORT: port})
        self._async_abort_entries_match({CONF_PORT: port})
        self._discovery = discovery_info
        self._discovered_port = port
        self.context["title_placeholders"] = {"name": discovery_info.description or DEFAULT_NAME}
        return await self.async_step_usb_confirm()

    async def async_step_usb_confirm(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Confirm, then probe: a sleeping device can be woken and the form sent again."""
        errors: dict[str, str] = {}
        placeholders = {"name": self._discovery.description or DEFAULT_NAME, "port": self._discovered_port}
        if user_input is not None:
            errors, detail = await _async_probe(self._discovered_port)
            placeholders.update(detail)
            if not errors:
                return self.async_create_entry(
                    title=self._unique_title(),
                    data={
                        CONF_PORT: self._discovered_port,
                        CONF_MODEL: self._discovery.description,
                        CONF_SERIAL_NUMBER: self._discovery.serial_number,
                    },
                )
        self._set_confirm_only()
        return self.async_show_form(
            step_id="usb_confirm", errors=errors, description_placeholders=placeholders
        )

    async def async_step_reconfigure(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Move an entry to another port (a new adapter, a ser2net URL)."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            port = await self.hass.async_add_executor_job(_stable_path, user_input[CONF_PORT])
            self._async_abort_entries_match({CONF_PORT: port})
            device = await self.hass.async_add_executor_job(_usb_device, port)
            unique_id = _reconfigured_unique_id(entry, port, device)
            if unique_id is not None and unique_id != entry.unique_id:
                await self._async_set_adapter_id(unique_id)
                self._abort_if_unique_id_configured()
            # The running entry holds its own port open; that one is known to work.
            if port != entry.data[CONF_PORT] or entry.state is not ConfigEntryState.LOADED:
                errors, placeholders = await _async_probe(port)
            if not errors:
                return self.async_update_reload_and_abort(
                    entry, unique_id=unique_id, data_updates={CONF_PORT: port, **_usb_data(device)}
                )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(PORT_SCHEMA, user_input or entry.data),
            errors=errors,
            description_placeholders=placeholders,
        )


class VictronMk3OptionsFlow(OptionsFlowWithReload):
    """Polling interval and phases; the entry reloads with them."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """One form for all options."""
        if user_input is not None:
            return self.async_create_entry(data=user_input)
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(OPTIONS_SCHEMA, self.config_entry.options),
        )

"""Config flow helpers: the MK3-USB as enumeration and discovery see it, and flow drivers."""

from __future__ import annotations

from typing import Any

from homeassistant.components.usb import USBDevice
from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.service_info.usb import UsbServiceInfo
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.victron_mk3.const import (
    CONF_MODEL,
    CONF_PORT,
    CONF_SERIAL_NUMBER,
    DEFAULT_NAME,
    DOMAIN,
)

USB_SERIAL = "HQ2049ABCDE"
USB_UNIQUE_ID = f"0403:6015_{USB_SERIAL}_Victron Energy BV_MK3-USB Interface"


def usb_device(port: str) -> USBDevice:
    """The MK3-USB as USB enumeration reports it."""
    return USBDevice(
        device=port,
        vid="0403",
        pid="6015",
        serial_number=USB_SERIAL,
        manufacturer="Victron Energy BV",
        description="MK3-USB Interface",
    )


def usb_info(port: str) -> UsbServiceInfo:
    """The MK3-USB as USB discovery reports it."""
    return UsbServiceInfo(
        device=port,
        vid="0403",
        pid="6015",
        serial_number=USB_SERIAL,
        manufacturer="Victron Energy BV",
        description="MK3-USB Interface",
    )


async def user_flow(hass: HomeAssistant, port: str) -> dict:
    """Open the user flow and submit a port."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}
    return await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_PORT: port})


async def reconfigure(hass: HomeAssistant, entry: MockConfigEntry, port: str) -> dict:
    """Open the reconfigure flow of an entry and submit a port."""
    result = await entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    return await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_PORT: port})


def usb_entry(port: str, **kwargs: Any) -> MockConfigEntry:
    """An entry as USB discovery makes it."""
    return MockConfigEntry(
        **kwargs,
        domain=DOMAIN,
        title=DEFAULT_NAME,
        unique_id=USB_UNIQUE_ID,
        data={CONF_PORT: port, CONF_MODEL: "MK3-USB Interface", CONF_SERIAL_NUMBER: USB_SERIAL},
        version=1,
        minor_version=2,
    )

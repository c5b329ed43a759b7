"""The two devices of an entry: the VE.Bus device (the Multi) and the MK3 interface it is reached through.

The entities belong to the VE.Bus device: it is what they measure and control, and the device id
the actions take. Its identifier is the config entry id, as before. The MK3 is registered as the
interface that device is connected via: the USB model and serial number in the entry data are the
MK3's, not the Multi's. The library reads no model or serial number from the Multi over VE.Bus,
so the VE.Bus device shows its firmware only.
"""

from __future__ import annotations

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo

from .const import CONF_MODEL, CONF_SERIAL_NUMBER, DEFAULT_MODEL, DOMAIN, MANUFACTURER
from .coordinator import VictronMk3ConfigEntry, VictronMk3Coordinator

INTERFACE_TRANSLATION_KEY = "interface"


def firmware_text(version: int | None) -> str | None:
    """The Multi's firmware as VictronConnect shows it (AA BB CCC: 2623506 is "506"), full number after."""
    if version is None:
        return None
    return f"{version % 1000} ({version})"


def interface_identifier(entry_id: str) -> tuple[str, str]:
    """The MK3 interface's device identifier; the VE.Bus device's is the entry id alone."""
    return DOMAIN, f"{entry_id}-interface"


def vebus_device_info(
    entry: VictronMk3ConfigEntry, firmware_version: int | None, interface_device_id: str
) -> DeviceInfo:
    """The VE.Bus device (named after the entry); None clears what older releases put there."""
    return DeviceInfo(
        identifiers={(DOMAIN, entry.entry_id)},
        manufacturer=MANUFACTURER,
        model=None,
        serial_number=None,
        hw_version=None,
        sw_version=firmware_text(firmware_version),
        via_device_id=interface_device_id,
    )


def interface_device_info(entry: VictronMk3ConfigEntry, interface_version: int | None) -> DeviceInfo:
    """The MK3: model and serial number as USB reported them, its own firmware version."""
    return DeviceInfo(
        identifiers={interface_identifier(entry.entry_id)},
        manufacturer=MANUFACTURER,
        model=entry.data.get(CONF_MODEL) or DEFAULT_MODEL,
        serial_number=entry.data.get(CONF_SERIAL_NUMBER),
        sw_version=str(interface_version) if interface_version is not None else None,
        translation_key=INTERFACE_TRANSLATION_KEY,
        translation_placeholders={"title": entry.title},
    )


def tuple_or(
    read: tuple[int | None, int | None], shown: tuple[int | None, int | None]
) -> tuple[int | None, int | None]:
    """Each version as read, or as shown where it was not read."""
    return (
        read[0] if read[0] is not None else shown[0],
        read[1] if read[1] is not None else shown[1],
    )


@callback
def async_register_devices(hass: HomeAssistant, coordinator: VictronMk3Coordinator) -> CALLBACK_TYPE:
    """Register the interface, then the VE.Bus device via it; keep both firmware versions current.

    Entities write their device info only when they are added: a firmware update of the Multi or
    a swapped MK3 would stay unseen until a restart without this listener. Returns its remover.
    """
    registry = dr.async_get(hass)
    entry = coordinator.config_entry
    shown: tuple[int | None, int | None] | None = None

    @callback
    def async_update_devices() -> None:
        nonlocal shown
        data = coordinator.data
        read = (data.interface_version, data.status.firmware_version)
        # A version not read this time (None) keeps the one shown.
        versions = read if shown is None else tuple_or(read, shown)
        if versions == shown:
            return
        shown = versions
        interface = registry.async_get_or_create(
            config_entry_id=entry.entry_id, **interface_device_info(entry, versions[0])
        )
        registry.async_get_or_create(
            config_entry_id=entry.entry_id, **vebus_device_info(entry, versions[1], interface.id)
        )

    async_update_devices()
    return coordinator.async_add_listener(async_update_devices)

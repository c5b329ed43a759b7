"""Diagnostics: what a maintainer needs to answer a bug report."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from enum import Enum, Flag
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from homeassistant.components.diagnostics import REDACTED, async_redact_data
from homeassistant.core import HomeAssistant

from .const import CONF_PORT, CONF_SERIAL_NUMBER
from .coordinator import VictronMk3ConfigEntry
from .ess_control import ess_diagnostics
from .vebus_mk3 import DeviceStatus

TO_REDACT = {CONF_SERIAL_NUMBER}
# The serial numbers of the VE.Bus units (multi-unit topology).
UNIT_TO_REDACT = {"serial"}


def redact_port(port: str) -> str:
    """Drop the adapter's serial number that /dev/serial/by-id names carry, and a URL's host.

    A ser2net URL (``socket://host:port``, ``rfc2217://…``) names a machine on the user's
    network, possibly with credentials: only the scheme and the TCP port are kept.
    """
    if "://" in port:
        url = urlsplit(port)
        try:
            tcp_port = url.port
        except ValueError:  # not a number: keep nothing of the address
            tcp_port = None
        address = REDACTED if tcp_port is None else f"{REDACTED}:{tcp_port}"
        return urlunsplit((url.scheme, address, url.path, "", ""))
    if "/by-id/" in port:
        return f"{port.rsplit('/', 1)[0]}/{REDACTED}"
    return port


def _plain(value: Any) -> Any:
    """Enums and flags by name, dict keys as strings: readable and JSON-safe."""
    if isinstance(value, Flag):
        return [member.name for member in type(value) if member in value and member.name]
    if isinstance(value, Enum):
        return value.name
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    return value


def _replies(status: DeviceStatus) -> dict[str, Any]:
    """The parsed replies of the last poll (flags are reported with the link)."""
    replies = asdict(status)
    # Per-unit readings are shown with the topology (link.units).
    for derived in ("interface_flags", "taken_at", "read_at", "units"):
        replies.pop(derived, None)
    return replies


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: VictronMk3ConfigEntry
) -> dict[str, Any]:
    """The entry, the link and the device's last replies."""
    coordinator = entry.runtime_data
    client = coordinator.client
    port = entry.data[CONF_PORT]

    def scrub(text: str) -> str:
        return text.replace(port, redact_port(port))

    data = coordinator.data
    return {
        "entry": {
            "title": entry.title,
            "version": f"{entry.version}.{entry.minor_version}",
            "data": async_redact_data({**entry.data, CONF_PORT: redact_port(port)}, TO_REDACT),
            "options": dict(entry.options),
        },
        "link": {
            "connected": client.connected,
            "idle": client.idle,
            "last_update_success": coordinator.last_update_success,
            "fault": scrub(str(coordinator.fault)) if coordinator.fault else None,
            "sampler": asdict(coordinator.sampler.stats),
            "last_error": scrub(str(coordinator.last_exception)) if coordinator.last_exception else None,
            "interface_version": client.version.version if client.version else None,
            "interface_mode": client.version.mode if client.version else None,
            "interface_flags": _plain(coordinator.interface_flags),
            "standby_requested": coordinator.standby_requested,
            "phases": coordinator.sampler.phases,
            "capabilities": coordinator.sampler.capabilities.as_dict(),
            "units": async_redact_data(
                {
                    **coordinator.sampler.units.as_dict(),
                    "readings": {str(a): asdict(r) for a, r in sorted(data.status.units.items())}
                    if data
                    else {},
                },
                UNIT_TO_REDACT,
            ),
            "standby_given_up": coordinator.sampler.standby_given_up,
            "stats": asdict(client.stats),
            "decoder": asdict(client.decoder_stats),
            "events": [
                {
                    "kind": event.kind,
                    "detail": scrub(event.detail),
                    "at": datetime.fromtimestamp(event.at, UTC).isoformat(),
                }
                for event in client.events
            ],
        },
        "scales": {str(var_id): asdict(info) for var_id, info in sorted(client.scales.items())},
        "last_replies": _plain(_replies(data.status)) if data else None,
        "ess": ess_diagnostics(coordinator),
    }

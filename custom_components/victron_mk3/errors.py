"""Library faults as translated Home Assistant errors."""

from __future__ import annotations

from typing import Any

from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from .const import DOMAIN
from .vebus_mk3 import (
    LinkIOError,
    Mk3Error,
    NoAnswerError,
    PortInaccessibleError,
    ProbeStatus,
)


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


def link_down(port: str) -> HomeAssistantError:
    """A command while the link is down: refused at once, never queued for later."""
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key="link_down",
        translation_placeholders={"port": port},
    )


def not_confirmed(requested: str, reported: str) -> HomeAssistantError:
    """The device's read-back disagrees with what was asked for."""
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key="not_confirmed",
        translation_placeholders={"requested": requested, "reported": reported},
    )


def out_of_range(
    translation_key: str, name: str, value: float, minimum: float, maximum: float
) -> ServiceValidationError:
    """A value outside the range the device (or the options) allow; ``name`` is its placeholder."""
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=translation_key,
        translation_placeholders={name: f"{value:g}", "minimum": f"{minimum:g}", "maximum": f"{maximum:g}"},
    )

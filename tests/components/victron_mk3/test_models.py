"""Panel modes from the switch register, indicator names, and library faults in the user's words."""

from __future__ import annotations

import pytest

from custom_components.victron_mk3.coordinator import error_translation, probe_status
from custom_components.victron_mk3.models import (
    PanelMode,
    actual_mode,
    front_panel_mode,
    indicator_names,
    remote_panel_mode,
)
from custom_components.victron_mk3.vebus_mk3 import (
    Led,
    LinkIOError,
    Mk3Error,
    NoAnswerError,
    NotConnectedError,
    PortInaccessibleError,
    ProbeStatus,
    SwitchRegister,
    UnsupportedError,
)

R = SwitchRegister


@pytest.mark.parametrize(
    ("register", "remote", "actual", "front"),
    [
        (R(0), PanelMode.OFF, PanelMode.OFF, PanelMode.OFF),
        (
            R.REMOTE_CHARGE | R.RESULT_CHARGE | R.FRONT_SWITCH_DOWN,
            "charger_only",
            "charger_only",
            "charger_only",
        ),
        (R.REMOTE_INVERT | R.FRONT_SWITCH_UP, "inverter_only", "off", "on"),
        (
            R.REMOTE_CHARGE | R.REMOTE_INVERT | R.RESULT_INVERT | R.FRONT_SWITCH_UP,
            "on",
            "inverter_only",
            "on",
        ),
    ],
)
def test_modes(register: SwitchRegister, remote: str, actual: str, front: str) -> None:
    """Remote bits, resulting bits and the front switch are read independently."""
    assert remote_panel_mode(register) == remote
    assert actual_mode(register) == actual
    assert front_panel_mode(register) == front


def test_indicator_names() -> None:
    """Names in bit order, joined as the peer did; ``none`` when everything is dark."""
    assert indicator_names(Led.FLOAT | Led.MAINS) == "mains|float"
    assert indicator_names(Led(0)) == "none"


@pytest.mark.parametrize(
    ("error", "key", "status"),
    [
        (PortInaccessibleError("x"), "port_inaccessible", ProbeStatus.INACCESSIBLE),
        (NoAnswerError("x"), "no_answer", ProbeStatus.UNRESPONSIVE),
        (NotConnectedError("x"), "link_error", ProbeStatus.IO_ERROR),
        (LinkIOError("x"), "link_error", ProbeStatus.IO_ERROR),
        (UnsupportedError("x"), "device_error", ProbeStatus.IO_ERROR),
    ],
)
def test_error_translation(error: Mk3Error, key: str, status: ProbeStatus) -> None:
    """Each library fault has its message and probe outcome."""
    assert error_translation(error, "/dev/ttyUSB0") == {
        "translation_domain": "victron_mk3",
        "translation_key": key,
        "translation_placeholders": {"port": "/dev/ttyUSB0", "error": "x"},
    }
    assert probe_status(error) is status

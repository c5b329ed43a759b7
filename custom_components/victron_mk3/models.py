"""What the coordinator hands to entities, and the panel modes read from the switch register."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .vebus_mk3 import DeviceStatus, InterfaceFlags, Led, SwitchRegister, SwitchState
from .vebus_mk3.capabilities import Capabilities


class PanelMode(StrEnum):
    """Operating mode of a panel; the values are the states j9brown/victron-mk3-hass used."""

    OFF = "off"
    ON = "on"
    CHARGER_ONLY = "charger_only"
    INVERTER_ONLY = "inverter_only"


SWITCH_STATES: dict[PanelMode, SwitchState] = {
    PanelMode.OFF: SwitchState.OFF,
    PanelMode.ON: SwitchState.ON,
    PanelMode.CHARGER_ONLY: SwitchState.CHARGER_ONLY,
    PanelMode.INVERTER_ONLY: SwitchState.INVERTER_ONLY,
}


def _mode(charge: bool, invert: bool) -> PanelMode:
    if charge and invert:
        return PanelMode.ON
    if charge:
        return PanelMode.CHARGER_ONLY
    if invert:
        return PanelMode.INVERTER_ONLY
    return PanelMode.OFF


def remote_panel_mode(register: SwitchRegister) -> PanelMode:
    """The mode set through the interface (the S command)."""
    return _mode(SwitchRegister.REMOTE_CHARGE in register, SwitchRegister.REMOTE_INVERT in register)


def actual_mode(register: SwitchRegister) -> PanelMode:
    """The mode the device runs in after front switch and remote are combined."""
    return _mode(SwitchRegister.RESULT_CHARGE in register, SwitchRegister.RESULT_INVERT in register)


def front_panel_mode(register: SwitchRegister) -> PanelMode:
    """Position of the switch on the device itself."""
    if SwitchRegister.FRONT_SWITCH_UP in register:
        return PanelMode.ON
    if SwitchRegister.FRONT_SWITCH_DOWN in register:
        return PanelMode.CHARGER_ONLY
    return PanelMode.OFF


def indicator_names(leds: Led) -> str:
    """Indicators as ``mains|float`` (the format j9brown/victron-mk3-hass used), ``none`` if dark."""
    names = [led.name.lower() for led in Led if led in leds and led.name]
    return "|".join(names) or "none"


def state_signature(status: DeviceStatus) -> tuple[object, ...]:
    """Everything discrete an automation may wait for; a change is published at once."""
    config = status.config
    return (
        status.leds,
        status.device_state,
        config.switch_register if config is not None else None,
        config.current_limit if config is not None else None,
        status.charge_stage,
        status.interface_flags,
        status.mains_present,
        tuple(sorted(status.ac)),
    )


# A power step at least this large (and this large a share of the value before) is published
# at once instead of at the next interval: a kettle or a generator coming on shows within a
# sample or two, while a few watts of drift wait for the interval and write no extra rows.
SIGNIFICANT_STEP_W = 100.0
SIGNIFICANT_STEP_SHARE = 0.1


def _powers(status: DeviceStatus) -> tuple[float | None, ...]:
    dc = status.dc
    return (
        status.ac_input_power,
        status.ac_output_power,
        status.inverter_power,
        dc.voltage * dc.current if dc is not None else None,
    )


def significant_step(before: DeviceStatus, after: DeviceStatus) -> bool:
    """Whether a power moved far enough, for its size, to be worth publishing now."""
    return any(
        old is not None
        and new is not None
        and abs(new - old) >= max(SIGNIFICANT_STEP_W, SIGNIFICANT_STEP_SHARE * abs(old))
        for old, new in zip(_powers(before), _powers(after), strict=True)
    )


@dataclass(frozen=True)
class VictronMk3Data:
    """One publish: the device status plus what the interface itself reported.

    ``states_only`` marks a publish made for a change of state between two intervals:
    measurement entities skip it, so the recorder writes no extra rows for them.
    """

    status: DeviceStatus
    interface_version: int | None
    interface_flags: InterfaceFlags | None
    fresh_parts: frozenset[str] = frozenset()
    states_only: bool = False
    capabilities: Capabilities | None = None

"""Typed reply models and their parsers.

Every parser takes a frame payload (without length and checksum bytes) and either
returns a model or raises ``ValueError`` when the payload does not validate.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import TypeVar

from .const import (
    AC_INFO_KINDS,
    CONFIG_FRAME,
    DC_INFO_KIND,
    INFO_FRAME,
    MK2_FRAME,
    ChargeStage,
    DeviceState,
    InterfaceFlags,
    Led,
    RamVar,
    SwitchRegister,
    SwitchState,
)
from .variables import (
    AC_CURRENT_MAX,
    AC_VOLTAGE_MAX,
    CURRENT_LIMIT_MAX,
    DC_CURRENT_MAX,
    DC_VOLTAGE_MAX,
    FREQUENCY_MAX,
    RamVarInfo,
    check_range,
)

INFO_FRAME_LENGTH = 15
# Frame-context plausibility (see parse_ac_info). VE.Bus systems have at most 6 units per phase
# and 18 in all; an input below NO_VOLTAGE is open, and its current reads near zero.
MAX_UNITS = 18
NO_VOLTAGE = 10.0
CURRENT_WITHOUT_VOLTAGE = 5.0
CONFIG_FRAME_LENGTH = 13
# Period bytes meaning "no waveform": 0x00 with AC absent, 0xFF on some units.
NO_WAVEFORM_PERIODS = (0x00, 0xFF)

E = TypeVar("E", bound=IntEnum)


def enum_or_none(enum: type[E], code: int) -> E | None:
    """The member for ``code``, or None for a value this library does not know (never raises)."""
    try:
        return enum(code)
    except ValueError:
        return None


@dataclass(frozen=True)
class VersionInfo:
    """Interface firmware version (V) and the mode/address byte after it."""

    version: int
    mode: int | None


@dataclass(frozen=True)
class LedStatus:
    """Front panel indicators: lit and blinking."""

    on: Led
    blink: Led


@dataclass(frozen=True)
class DCInfo:
    """Battery side of the info frame (F 0)."""

    voltage: float
    inverter_current: float
    charger_current: float
    inverter_frequency: float | None  # None: no inverter waveform (period byte 0x00/0xFF)

    @property
    def current(self) -> float:
        """Net battery current: positive while charging."""
        return self.charger_current - self.inverter_current

    @property
    def power(self) -> float:
        """Net battery power in W: positive while charging."""
        return self.voltage * self.current


@dataclass(frozen=True)
class ACInfo:
    """One phase of the AC info frame (F 1–4)."""

    phase: int
    device_state: DeviceState | None  # None: a code this library does not know (see the raw code)
    device_state_code: int  # the raw byte; older firmware leaves it unfilled (0xB7 seen)
    mains_voltage: float
    mains_current: float
    inverter_voltage: float
    inverter_current: float
    mains_frequency: float | None  # None: no mains waveform (period byte 0x00/0xFF)


@dataclass(frozen=True)
class DeviceStateReport:
    """W 0x0E reply: device state and charger stage, with the raw codes kept."""

    state: DeviceState | None
    state_code: int
    charge_stage: ChargeStage | None
    charge_stage_code: int


@dataclass(frozen=True)
class ConfigInfo:
    """Master-multi/config frame (F 5): current limits and switch register."""

    last_active_input: int
    limit_overridden_by_panel: bool
    digital_multi_control_dedicated: bool
    ac_input_count: int
    remote_panel_detected: bool
    minimum_current_limit: float
    maximum_current_limit: float
    current_limit: float
    switch_register: SwitchRegister


def remote_switch_state(register: SwitchRegister) -> SwitchState:
    """The S-command state that the remote switch bits of the config frame stand for."""
    charge = SwitchRegister.REMOTE_CHARGE in register
    invert = SwitchRegister.REMOTE_INVERT in register
    if charge and invert:
        return SwitchState.ON
    if charge:
        return SwitchState.CHARGER_ONLY
    return SwitchState.INVERTER_ONLY if invert else SwitchState.OFF


def mk2_data(payload: bytes, letter: int) -> bytes:
    """Data after ``0xFF letter``; raises when the payload is another reply."""
    if len(payload) < 2 or payload[0] != MK2_FRAME or payload[1] != letter:
        raise ValueError(f"not a {chr(letter)} reply: {payload.hex()}")
    return payload[2:]


def is_mk2(payload: bytes, letter: int) -> bool:
    """True for ``0xFF letter …`` frames."""
    return len(payload) >= 2 and payload[0] == MK2_FRAME and payload[1] == letter


def is_known_frame(payload: bytes) -> bool:
    """True for frames of a kind this library parses: MK2 replies, DC/AC info, config.

    Anything else (VE.Bus echoes, LED broadcasts, unknown info kinds, noise that passed the
    checksum) is skipped and counted as unknown.
    """
    if len(payload) >= 2 and payload[0] == MK2_FRAME:
        return True
    kind = info_kind(payload)
    if kind is not None:
        return kind == DC_INFO_KIND or kind in AC_INFO_KINDS
    return len(payload) >= CONFIG_FRAME_LENGTH and payload[0] == CONFIG_FRAME


def parse_version(payload: bytes) -> VersionInfo:
    data = mk2_data(payload, ord("V"))
    if len(data) < 4:
        raise ValueError("short version frame")
    return VersionInfo(int.from_bytes(data[:4], "little"), data[4] if len(data) > 4 else None)


def parse_leds(payload: bytes) -> LedStatus:
    data = mk2_data(payload, ord("L"))
    if len(data) < 2:
        raise ValueError("short LED frame")
    return LedStatus(Led(data[0]), Led(data[1]))


def parse_interface_flags(payload: bytes) -> InterfaceFlags:
    data = mk2_data(payload, ord("H"))
    if not data:
        raise ValueError("H reply without flags")
    return InterfaceFlags(data[0])


def info_kind(payload: bytes) -> int | None:
    """Kind byte of an info frame, or None for other frames."""
    if len(payload) >= INFO_FRAME_LENGTH and payload[0] == INFO_FRAME:
        return payload[5]
    return None


def ac_phase_of_kind(kind: int) -> int:
    """Phase number of an AC info kind: 0x08 = L1 … 0x05 = L4; 0x09–0x0B = L1."""
    return 9 - kind if kind <= 0x08 else 1


def period_to_frequency(period: float) -> float:
    """Frequency from a period in units of 0.1 s; 0 when there is no AC."""
    return 10 / period if period > 0 else 0.0


def parse_device_state(data: bytes) -> DeviceStateReport:
    """``0x94 state substate`` (data after the W letter); unknown codes read as None."""
    if len(data) < 3:
        raise ValueError(f"short device state reply {data.hex()}")
    return DeviceStateReport(
        state=enum_or_none(DeviceState, data[1]),
        state_code=data[1],
        charge_stage=enum_or_none(ChargeStage, data[2]),
        charge_stage_code=data[2],
    )


def _scale(scales: dict[int, RamVarInfo], var_id: int) -> RamVarInfo:
    """The scale of an info frame field (KeyError before discovery)."""
    info = scales[var_id]
    if not info.supported:
        # Without a scale the field cannot be decoded; reporting 0 would be a wrong value.
        raise ValueError(f"RAM variable {var_id} has no scale")
    return info


def _amps(name: str, value: float, maximum: float) -> float:
    return check_range(name, value, -maximum, maximum)


def _hertz(name: str, info: RamVarInfo, raw: bytes) -> float | None:
    """Frequency from a one-byte period field; None when the byte says there is no waveform."""
    if raw[0] in NO_WAVEFORM_PERIODS:
        return None
    period = info.decode(raw)
    if period <= 0:
        return None
    return check_range(name, period_to_frequency(period), 0.0, FREQUENCY_MAX)


def parse_dc_info(payload: bytes, scales: dict[int, RamVarInfo]) -> DCInfo:
    if info_kind(payload) != DC_INFO_KIND:
        raise ValueError("not a DC info frame")
    volts = _scale(scales, RamVar.BATTERY_VOLTAGE).decode(payload[6:8])
    current = _scale(scales, RamVar.BATTERY_CURRENT)
    period = _scale(scales, RamVar.INVERTER_PERIOD)
    return DCInfo(
        voltage=check_range("battery voltage", volts, 0.0, DC_VOLTAGE_MAX),
        inverter_current=_amps("inverter-side current", current.decode(payload[8:11]), DC_CURRENT_MAX),
        charger_current=_amps("charger-side current", current.decode(payload[11:14]), DC_CURRENT_MAX),
        inverter_frequency=_hertz("inverter frequency", period, payload[14:15]),
    )


def parse_ac_info(payload: bytes, scales: dict[int, RamVarInfo]) -> ACInfo:
    kind = info_kind(payload)
    if kind is None or kind not in AC_INFO_KINDS:
        raise ValueError("not an AC info frame")
    backfeed_factor, inverter_factor = payload[1], payload[2]
    if backfeed_factor > MAX_UNITS or inverter_factor > MAX_UNITS:
        # The factors count the units of a phase: a byte above any system's size is noise
        # that slipped through the checksum (and would multiply a current by it).
        raise ValueError(f"implausible unit factors {backfeed_factor}/{inverter_factor}")
    mains_volts = _scale(scales, RamVar.MAINS_VOLTAGE).decode(payload[6:8])
    # AC currents are signed whatever the scale info says: some units declare them unsigned
    # yet send negative values while feeding back (a backfeed would read as +650 A).
    mains_amps = _scale(scales, RamVar.MAINS_CURRENT).decode(payload[8:10], signed=True) * backfeed_factor
    inverter_volts = _scale(scales, RamVar.INVERTER_VOLTAGE).decode(payload[10:12])
    inverter_amps = (
        _scale(scales, RamVar.INVERTER_CURRENT).decode(payload[12:14], signed=True) * inverter_factor
    )
    if mains_volts < NO_VOLTAGE and abs(mains_amps) > CURRENT_WITHOUT_VOLTAGE:
        # Nothing flows through an open input: amps without volts are a corrupted frame.
        raise ValueError(f"implausible mains current {mains_amps:g} A at {mains_volts:g} V")
    return ACInfo(
        phase=ac_phase_of_kind(kind),
        # Older firmware leaves the state byte unfilled; the values of the frame are still right.
        device_state=enum_or_none(DeviceState, payload[4]),
        device_state_code=payload[4],
        mains_voltage=check_range("mains voltage", mains_volts, 0.0, AC_VOLTAGE_MAX),
        mains_current=_amps("mains current", mains_amps, AC_CURRENT_MAX),
        inverter_voltage=check_range("inverter voltage", inverter_volts, 0.0, AC_VOLTAGE_MAX),
        inverter_current=_amps("inverter current", inverter_amps, AC_CURRENT_MAX),
        mains_frequency=_hertz("mains frequency", _scale(scales, RamVar.MAINS_PERIOD), payload[14:15]),
    )


def parse_config(payload: bytes) -> ConfigInfo:
    if len(payload) < CONFIG_FRAME_LENGTH or payload[0] != CONFIG_FRAME:
        raise ValueError("not a config frame")
    flags = payload[5]
    minimum = int.from_bytes(payload[6:8], "little") / 10
    maximum = int.from_bytes(payload[8:10], "little") / 10
    actual = int.from_bytes(payload[10:12], "little") / 10
    if minimum > maximum:
        raise ValueError(f"config frame with minimum {minimum} A above maximum {maximum} A")
    for name, amps in (("maximum", maximum), ("actual", actual)):
        check_range(f"{name} current limit", amps, 0.0, CURRENT_LIMIT_MAX)
    return ConfigInfo(
        last_active_input=flags & 0x03,
        limit_overridden_by_panel=bool(flags & 0x04),
        digital_multi_control_dedicated=bool(flags & 0x08),
        ac_input_count=(flags & 0x70) >> 4,
        remote_panel_detected=bool(flags & 0x80),
        minimum_current_limit=minimum,
        maximum_current_limit=maximum,
        current_limit=actual,
        switch_register=SwitchRegister(payload[12]),
    )

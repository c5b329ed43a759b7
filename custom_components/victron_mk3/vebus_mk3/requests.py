"""Typed command declarations: what to send, which reply answers it, how to parse it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from .const import (
    CONFIG_FRAME,
    DC_INFO_KIND,
    LIMIT_DEVICE_MAXIMUM,
    MK2_FRAME,
    W_DEVICE_STATE,
    W_DEVICE_STATE_REPLY,
    W_LETTERS,
    W_OFFSET,
    W_RAM_INFO,
    W_RAM_VALUES,
    W_READ_RAM,
    W_SCALE,
    W_UNKNOWN_COMMAND,
    W_UNSUPPORTED,
    W_VERSION_HIGH,
    W_VERSION_HIGH_REPLY,
    W_VERSION_LOW,
    W_VERSION_LOW_REPLY,
    ChargeAction,
    InterfaceFlags,
    SwitchState,
)
from .exceptions import AccessLevelRequiredError, UnsupportedError
from .messages import (
    ACInfo,
    ConfigInfo,
    DCInfo,
    DeviceStateReport,
    LedStatus,
    VersionInfo,
    ac_phase_of_kind,
    info_kind,
    is_mk2,
    mk2_data,
    parse_ac_info,
    parse_config,
    parse_dc_info,
    parse_device_state,
    parse_interface_flags,
    parse_leds,
    parse_version,
)
from .variables import RamVarInfo

T = TypeVar("T")

DEFAULT_TIMEOUT = 0.5
# The device takes more than 750 ms to build the config frame.
CONFIG_TIMEOUT = 1.2
MAX_RAM_READ = 3


@dataclass(frozen=True)
class Request(Generic[T]):
    """One command: the payload to send, the reply that answers it, and its parser."""

    name: str
    payload: bytes
    matches: Callable[[bytes], bool]
    parse: Callable[[bytes], T]
    timeout: float = DEFAULT_TIMEOUT
    # The interface also sends this reply unasked, so getting one proves nothing.
    sent_unasked: bool = False


def same_content(payload: bytes) -> bytes:
    """``payload`` with a W-family letter made neutral: the letter is only a nonce, so two
    requests that differ in it alone ask for the same thing."""
    if len(payload) > 1 and payload[0] == MK2_FRAME and payload[1] in W_LETTERS:
        return payload[:1] + b"W" + payload[2:]
    return payload


def _mk2(letter: str, data: Sequence[int] = ()) -> bytes:
    return bytes((MK2_FRAME, ord(letter), *data))


def _answers(letter: str) -> Callable[[bytes], bool]:
    code = ord(letter)
    return lambda payload: is_mk2(payload, code)


def version() -> Request[VersionInfo]:
    return Request("V", _mk2("V"), _answers("V"), parse_version, sent_unasked=True)


def select_address(address: int = 0) -> Request[None]:
    return Request("A", _mk2("A", (1, address)), _answers("A"), lambda _payload: None)


def leds() -> Request[LedStatus]:
    return Request("L", _mk2("L"), _answers("L"), parse_leds)


def dc_info(scales: dict[int, RamVarInfo]) -> Request[DCInfo]:
    return Request(
        "F0",
        _mk2("F", (0,)),
        lambda payload: info_kind(payload) == DC_INFO_KIND,
        lambda payload: parse_dc_info(payload, scales),
    )


def ac_info(phase: int, scales: dict[int, RamVarInfo]) -> Request[ACInfo]:
    if not 1 <= phase <= 4:
        raise ValueError(f"phase must be 1..4, got {phase}")

    def matches(payload: bytes) -> bool:
        kind = info_kind(payload)
        return kind is not None and kind != DC_INFO_KIND and ac_phase_of_kind(kind) == phase

    return Request(f"F{phase}", _mk2("F", (phase,)), matches, lambda p: parse_ac_info(p, scales))


def config() -> Request[ConfigInfo]:
    return Request(
        "F5",
        _mk2("F", (5,)),
        lambda payload: len(payload) > 0 and payload[0] == CONFIG_FRAME,
        parse_config,
        CONFIG_TIMEOUT,
    )


def encode_current_limit(amps: float | None) -> int:
    """S-command limit field: None = leave the present limit (0x8000, which the device
    ignores), <= 0 = minimum, else amps x10 (the device clamps to its range)."""
    if amps is None:
        return LIMIT_DEVICE_MAXIMUM
    if amps <= 0:
        return 0
    return min(round(amps * 10), LIMIT_DEVICE_MAXIMUM - 1)


def set_state(state: SwitchState, current_limit: float | None) -> Request[None]:
    limit = encode_current_limit(current_limit)
    data = (int(state), limit & 0xFF, limit >> 8, 0x01, 0x80)
    return Request("S", _mk2("S", data), _answers("S"), lambda _payload: None)


def interface_flags(flags: InterfaceFlags | None = None) -> Request[InterfaceFlags]:
    data = () if flags is None else (int(flags) & 0xFF,)
    return Request("H", _mk2("H", data), _answers("H"), parse_interface_flags)


# Short-mode init variant that brings an interface out of VictronConnect's
# long-frame ("Winmon") mode (one public source). Its flags (0x01 0x90: auto-send state,
# new format, 0x10 = "do not forward the state") and the trailing 0x00 0x01 are kept as found.
WINMON_RECOVERY_FLAGS = (0x01, 0x90, 0x00, 0x01)


def winmon_recovery(state: SwitchState | None = None, limit: float | None = None) -> Request[None]:
    """The init ``S`` frame; carries the last known state and limit in amps (0 when unknown).

    Firmware that ignored the "do not forward" flag would apply the state and limit bytes,
    so they had better be what the device already has. The limit is encoded as ``set_state``
    does (x10, clamped), except that unknown stays 0 instead of meaning "device maximum".
    """
    raw_limit = encode_current_limit(limit) if limit is not None else 0
    data = (int(state) if state is not None else 0, raw_limit & 0xFF, raw_limit >> 8, *WINMON_RECOVERY_FLAGS)
    return Request("S-init", _mk2("S", data), _answers("S"), lambda _payload: None)


def _w_reply(letter: int, payload: bytes) -> bytes:
    """Data after the W letter; ``0x80`` (unknown command) raises ``UnsupportedError``."""
    data = mk2_data(payload, letter)
    if not data:
        raise ValueError("empty W reply")
    if data[0] == W_UNKNOWN_COMMAND:
        raise UnsupportedError(f"the device does not know command {payload.hex()}")
    return data


def ram_info(letter: int, var_id: int) -> Request[RamVarInfo]:
    """Scale and offset of a RAM variable; "unsupported" is an answer, not an error.

    Reply forms (data after the letter): ``8E s s 8F o o``; ``8E s s o o`` (newer devices
    with the MK2 compatibility mode off, per Victron's velib); ``8E s s`` (offset absent: 0);
    ``8E``, ``8E 00 00``, ``90`` or nothing at all: unsupported.
    """

    def parse(payload: bytes) -> RamVarInfo:
        data = mk2_data(payload, letter)
        if not data or data[0] == W_UNSUPPORTED:
            return RamVarInfo.unsupported(var_id)
        if data[0] == W_UNKNOWN_COMMAND:
            raise UnsupportedError(f"the device does not know command {payload.hex()}")
        if data[0] != W_SCALE or len(data) == 2 or len(data) > 6:
            raise ValueError(f"malformed RAM info reply {data.hex()}")
        if len(data) == 1:
            return RamVarInfo.unsupported(var_id)
        scale = int.from_bytes(data[1:3], "little")
        if len(data) == 6:
            if data[3] != W_OFFSET:
                raise ValueError(f"malformed RAM info reply {data.hex()}")
            offset = data[4:6]
        elif len(data) == 5:
            offset = data[3:5]
        elif len(data) == 3:
            offset = b"\0\0"
        else:
            raise ValueError(f"malformed RAM info reply {data.hex()}")
        return RamVarInfo.from_raw(var_id, scale, int.from_bytes(offset, "little"))

    payload = bytes((MK2_FRAME, letter, W_RAM_INFO, var_id & 0xFF, var_id >> 8))
    return Request(f"RAM info {var_id}", payload, lambda p: is_mk2(p, letter), parse)


def read_ram(
    letter: int, var_ids: Sequence[int], scales: dict[int, RamVarInfo] | None = None
) -> Request[list[int]]:
    """Raw 16-bit values of up to three variables, in order; ``0x90`` raises ``UnsupportedError``.

    Older units answer a multi-id read with fewer values (the first only): the list is then
    shorter than ``var_ids`` and the caller reads the rest one at a time. With ``scales``, a
    reply whose decoded values are implausible is rejected.
    """
    if not 0 < len(var_ids) <= MAX_RAM_READ:
        raise ValueError(f"read 1..{MAX_RAM_READ} variables at once")

    def parse(payload: bytes) -> list[int]:
        data = _w_reply(letter, payload)
        if data[0] == W_UNSUPPORTED:
            raise UnsupportedError(f"RAM variable(s) {list(var_ids)} not supported")
        # Two bytes per id, at least one and never more than asked: a late reply to a longer
        # read with this letter is refused (letters rotate, so this takes three lost replies).
        count, odd = divmod(len(data) - 1, 2)
        if data[0] != W_RAM_VALUES or odd or not 0 < count <= len(var_ids):
            raise ValueError(f"malformed RAM read reply {data.hex()}")
        values = [int.from_bytes(data[1 + 2 * i : 3 + 2 * i], "little") for i in range(count)]
        for var_id, raw in zip(var_ids, values, strict=False):
            info = scales.get(var_id) if scales is not None else None
            if info is not None and info.supported:
                info.check(info.decode(raw.to_bytes(2, "little")))
        return values

    payload = bytes((MK2_FRAME, letter, W_READ_RAM, *var_ids))
    return Request("RAM read", payload, lambda p: is_mk2(p, letter), parse)


def device_state(letter: int, action: ChargeAction = ChargeAction.NONE) -> Request[DeviceStateReport]:
    """Device state and charge stage; a non-zero action forces a charge stage first.

    Unknown state or stage codes read as None (raw codes kept); ``0x80`` raises ``UnsupportedError``.
    """

    def parse(payload: bytes) -> DeviceStateReport:
        data = _w_reply(letter, payload)
        if data[0] != W_DEVICE_STATE_REPLY:
            raise ValueError(f"malformed device state reply {data.hex()}")
        return parse_device_state(data)

    payload = bytes((MK2_FRAME, letter, W_DEVICE_STATE, int(action), 0))
    return Request("device state", payload, lambda p: is_mk2(p, letter), parse)


@dataclass(frozen=True)
class FirmwarePart:
    """A firmware version reply: one 16-bit half, or the whole u32 when ``complete``."""

    value: int
    complete: bool


def firmware_word(letter: int, high: bool) -> Request[FirmwarePart]:
    """One half of the Multi's firmware version (``FF X 05 00 00`` / ``FF X 06 00 00``).

    Newer devices answer the low request with the whole version at once (``82`` + 4 bytes and
    possibly more, per Victron's velib): then ``complete`` is set and no high request is needed.
    ``0x80`` raises ``UnsupportedError``.
    """
    sub, code = (W_VERSION_HIGH, W_VERSION_HIGH_REPLY) if high else (W_VERSION_LOW, W_VERSION_LOW_REPLY)

    def parse(payload: bytes) -> FirmwarePart:
        data = _w_reply(letter, payload)
        if data[0] != code or len(data) < 3:
            raise ValueError(f"malformed firmware version reply {data.hex()}")
        if not high and len(data) >= 5:
            return FirmwarePart(int.from_bytes(data[1:5], "little"), complete=True)
        return FirmwarePart(int.from_bytes(data[1:3], "little"), complete=False)

    # Peers send two zero argument bytes after the sub-command.
    request_payload = bytes((MK2_FRAME, letter, sub, 0x00, 0x00))
    return Request("firmware version", request_payload, lambda p: is_mk2(p, letter), parse)


# CommandWriteViaID (protocol.md, *ESS external control*; Victron's velib mk2MsgSetId):
# ``FF X 37 flags id lo hi``, reply ``0x87`` once a RAM variable is written. Capture from a public
# client: ``07 FF 5A 37 00 83 72 01 73`` → ``03 FF 5A 87 1D`` (id 131, value 370).
W_WRITE_VIA_ID = 0x37
W_RAM_WRITTEN = 0x87
W_ACCESS_LEVEL_REQUIRED = 0x9B
WRITE_VIA_ID_SETTING = 0x01  # flag bit 0: a setting instead of a RAM variable (never used here)
WRITE_VIA_ID_NO_EEPROM = 0x02  # flag bit 1: do not store in EEPROM (always set: EEPROM wears)


def write_ram_via_id(letter: int, var_id: int, raw: int) -> Request[None]:
    """Write a RAM variable's raw 16-bit word; RAM only, never stored in EEPROM.

    The flags are fixed here, not a parameter: a caller cannot forget the no-EEPROM bit.
    ``0x80`` (unknown command), ``0x90``/``0x91`` and any other code than ``0x87`` raise
    ``UnsupportedError``; ``0x9B`` raises ``AccessLevelRequiredError``. A definite refusal is
    an answer, not a lost reply.
    """
    if not 0 <= var_id <= 0xFF:
        raise ValueError(f"write via id takes a one-byte id, got {var_id}")
    word = raw & 0xFFFF

    def parse(payload: bytes) -> None:
        data = _w_reply(letter, payload)
        if data[0] == W_RAM_WRITTEN:
            return
        if data[0] == W_ACCESS_LEVEL_REQUIRED:
            raise AccessLevelRequiredError(f"writing RAM id {var_id} needs a higher access level")
        raise UnsupportedError(f"writing RAM id {var_id} answered {data.hex()}")

    flags = WRITE_VIA_ID_NO_EEPROM
    request_payload = bytes((MK2_FRAME, letter, W_WRITE_VIA_ID, flags, var_id, word & 0xFF, word >> 8))
    return Request(f"write RAM {var_id}", request_payload, lambda p: is_mk2(p, letter), parse)

"""Hostile input for the library tests: valid frames of every kind, their requests, mutations.

Plausible ranges are written down here independently of the library's own limits: what a real
installation can report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import math
import random
from typing import Any

from custom_components.victron_mk3.vebus_mk3 import requests
from custom_components.victron_mk3.vebus_mk3.const import (
    W_LETTERS,
    ChargeAction,
    ChargeStage,
    DeviceState,
    InterfaceFlags,
    Led,
    RamVar,
    SwitchState,
)
from custom_components.victron_mk3.vebus_mk3.exceptions import UnsupportedError
from custom_components.victron_mk3.vebus_mk3.frame import MAX_PAYLOAD_LENGTH, encode_frame
from custom_components.victron_mk3.vebus_mk3.messages import (
    ACInfo,
    ConfigInfo,
    DCInfo,
    DeviceStateReport,
    LedStatus,
    VersionInfo,
)
from custom_components.victron_mk3.vebus_mk3.requests import Request
from custom_components.victron_mk3.vebus_mk3.simulator import FrontSwitch, Mk3Device, MultiplusModel
from custom_components.victron_mk3.vebus_mk3.simulator.simulator import FOREIGN_FRAME
from custom_components.victron_mk3.vebus_mk3.variables import RamVarInfo

AC_VOLTS = (0.0, 400.0)
DC_VOLTS = (0.0, 100.0)
AC_AMPS = 1000.0
DC_AMPS = 5000.0
HERTZ = (0.0, 100.0)
LIMIT_AMPS = (0.0, 1000.0)
RAM_RANGES: dict[int, tuple[float, float]] = {
    RamVar.MAINS_VOLTAGE: AC_VOLTS,
    RamVar.MAINS_CURRENT: (-AC_AMPS, AC_AMPS),
    RamVar.INVERTER_VOLTAGE: AC_VOLTS,
    RamVar.INVERTER_CURRENT: (-AC_AMPS, AC_AMPS),
    RamVar.BATTERY_VOLTAGE: DC_VOLTS,
    RamVar.BATTERY_CURRENT: (-DC_AMPS, DC_AMPS),
    RamVar.AC_LOAD_CURRENT: (-AC_AMPS, AC_AMPS),
    RamVar.STATE_OF_CHARGE: (0.0, 1.0),
    RamVar.INVERTER_POWER: (-1e5, 1e5),
    RamVar.INVERTER_POWER_2: (-1e5, 1e5),
    RamVar.OUTPUT_POWER: (-1e5, 1e5),
}

MODELS = (
    MultiplusModel(),  # charging from mains
    MultiplusModel(ac_input_present=False),  # inverting, mains period 0
    MultiplusModel(switch_state=SwitchState.OFF, ac_input_present=False),  # off: all zero
    MultiplusModel(load_w=9000.0, soc=0.3),  # power assist, overload
    MultiplusModel(phases=3, front_switch=FrontSwitch.CHARGER_ONLY),  # L1 kind 0x0A, L2, L3
    MultiplusModel(phases=4, charge_stage=ChargeStage.FLOAT, soc=0.999),  # kinds 0x0B, 0x05
    MultiplusModel(battery_monitor=False),  # SOC: scale 0, reads 0x90
    MultiplusModel(battery_monitor=False, unsupported_info_as_0x90=True),  # SOC info: 0x90
)


def real_scales() -> dict[int, RamVarInfo]:
    device = Mk3Device(MultiplusModel())
    scales = {}
    for var_id in RamVar:
        request = requests.ram_info(ord("X"), var_id)
        scales[var_id] = request.parse(device.handle(request.payload).frames[0])
    return scales


def request_pool(scales: dict[int, RamVarInfo]) -> list[Request[Any]]:
    """Every request the client can make, with each W letter ('W' gets cut-off replies)."""
    pool: list[Request[Any]] = [
        requests.version(),
        requests.select_address(0),
        requests.leds(),
        requests.dc_info(scales),
        *(requests.ac_info(phase, scales) for phase in range(1, 5)),
        requests.config(),
        requests.set_state(SwitchState.ON, 16.0),
        requests.interface_flags(),
        requests.interface_flags(InterfaceFlags.PANEL_DETECT | InterfaceFlags.STANDBY),
        requests.winmon_recovery(),
    ]
    for letter in (ord("W"), *W_LETTERS):
        pool += [requests.ram_info(letter, var_id) for var_id in (*RamVar, 200)]
        pool += [requests.read_ram(letter, ids, scales) for ids in ([4], [13], [14, 15, 16], [11, 12, 9])]
        pool += [requests.device_state(letter, action) for action in ChargeAction]
        pool += [requests.firmware_word(letter, high) for high in (False, True)]
    return pool


@dataclass(frozen=True)
class Sample:
    """A valid frame the simulator emitted, and the request it answered (None: unsolicited)."""

    payload: bytes
    request: Request[Any] | None
    valid: bool  # the request accepts it as is (cut-off 'W' replies do not)
    frame: bytes = b""

    def __post_init__(self) -> None:
        object.__setattr__(self, "frame", encode_frame(self.payload))


def collect_samples(scales: dict[int, RamVarInfo]) -> list[Sample]:
    samples: dict[tuple[bytes, str], Sample] = {}
    for model in MODELS:
        device = Mk3Device(model)
        for request in request_pool(scales):
            for payload in device.handle(request.payload).frames:
                valid = request.matches(payload)
                if valid:
                    try:
                        request.parse(payload)
                    except (ValueError, UnsupportedError):
                        valid = False  # UnsupportedError: resolves the request, but as an error
                samples.setdefault((payload, request.name), Sample(payload, request, valid))
        samples.setdefault((device.version_frame(), "-"), Sample(device.version_frame(), None, False))
    # W replies the client never asks for (setting unsupported 0x91, unknown command 0x80),
    # offered to a RAM info request with the same letter: a reply code its parser must refuse.
    device, info = Mk3Device(MultiplusModel()), requests.ram_info(ord("X"), RamVar.MAINS_VOLTAGE)
    for stray in (b"\xffX\x31\x00\x00", b"\xffX\x99", b"\xffX"):
        (payload,) = device.handle(stray).frames
        samples[(payload, "stray")] = Sample(payload, info, False)
    samples[(FOREIGN_FRAME, "-")] = Sample(FOREIGN_FRAME, None, False)
    return list(samples.values())


# ---- the protocol's own notion of "this frame answers that request" -----------------------


def reply_key(payload: bytes) -> tuple[str, int] | None:
    """Which request a frame answers, by the protocol alone: letter, or F number; None: none."""
    if len(payload) >= 2 and payload[0] == 0xFF:
        return ("mk2", payload[1])
    if payload[:1] == b"\x41":
        return ("F", 5)
    if len(payload) >= 15 and payload[0] == 0x20:
        kind = payload[5]
        if kind == 0x0C:
            return ("F", 0)
        if 0x05 <= kind <= 0x0B:
            return ("F", 9 - kind if kind <= 0x08 else 1)
    return None


def answers(request: Request[Any], payload: bytes) -> bool:
    letter = request.payload[1]
    wanted = ("F", request.payload[2]) if letter == ord("F") else ("mk2", letter)
    if reply_key(payload) != wanted:
        return False
    if request.payload[2:3] == b"\x30" and payload[2:3] == b"\x85":
        # RAM values: two bytes per id asked for, or fewer (older units answer the first id
        # only); more answers another read.
        count, odd = divmod(len(payload) - 3, 2)
        return not odd and 1 <= count <= len(request.payload[3:])
    return True


def within(name: str, value: float, low: float, high: float) -> None:
    assert math.isfinite(value), f"{name} = {value} reached the caller"
    assert low <= value <= high, f"{name} = {value} reached the caller"


def check_plausible(request: Request[Any], result: Any, scales: dict[int, RamVarInfo]) -> None:
    """A value that resolved ``request`` is one a real unit could have sent."""
    name = request.name
    if name == "V":
        assert isinstance(result, VersionInfo)
        assert 0 <= result.version < 1 << 32
        assert result.mode is None or 0 <= result.mode <= 0xFF
    elif name == "L":
        assert isinstance(result, LedStatus)
        assert isinstance(result.on, Led)
        assert isinstance(result.blink, Led)
    elif name == "H":
        assert isinstance(result, InterfaceFlags)
        assert 0 <= result <= 0xFF
    elif name == "F0":
        assert isinstance(result, DCInfo)
        within("battery voltage", result.voltage, *DC_VOLTS)
        within("inverter-side current", result.inverter_current, -DC_AMPS, DC_AMPS)
        within("charger-side current", result.charger_current, -DC_AMPS, DC_AMPS)
        if result.inverter_frequency is not None:
            within("inverter frequency", result.inverter_frequency, *HERTZ)
    elif name in ("F1", "F2", "F3", "F4"):
        assert isinstance(result, ACInfo)
        assert result.phase == int(name[1])
        assert result.device_state is None or isinstance(result.device_state, DeviceState)
        assert 0 <= result.device_state_code <= 0xFF
        within("mains voltage", result.mains_voltage, *AC_VOLTS)
        within("inverter voltage", result.inverter_voltage, *AC_VOLTS)
        within("mains current", result.mains_current, -AC_AMPS, AC_AMPS)
        within("inverter current", result.inverter_current, -AC_AMPS, AC_AMPS)
        if result.mains_frequency is not None:
            within("mains frequency", result.mains_frequency, *HERTZ)
    elif name == "F5":
        assert isinstance(result, ConfigInfo)
        within("minimum current limit", result.minimum_current_limit, *LIMIT_AMPS)
        within("maximum current limit", result.maximum_current_limit, *LIMIT_AMPS)
        within("current limit", result.current_limit, *LIMIT_AMPS)
        assert result.minimum_current_limit <= result.maximum_current_limit
        assert 0 <= result.ac_input_count <= 7
    elif name.startswith("RAM info"):
        assert isinstance(result, RamVarInfo)
        assert result.var_id == int.from_bytes(request.payload[3:5], "little")
        if result.supported:
            assert math.isfinite(result.scale)
            assert result.scale > 0
            for raw in (b"\x00\x00", b"\xff\xff", b"\x00\x80"):
                value = result.decode(raw)  # must not raise, whatever the raw value
                assert math.isfinite(value)
                if result.is_bit:
                    assert value in (0.0, 1.0)
    elif name == "RAM read":
        var_ids = list(request.payload[3:])
        assert 1 <= len(result) <= len(var_ids)
        for var_id, raw in zip(var_ids, result, strict=False):
            assert 0 <= raw <= 0xFFFF
            info = scales[var_id]
            if info.supported and var_id in RAM_RANGES:
                within(f"RAM variable {var_id}", info.decode(raw.to_bytes(2, "little")), *RAM_RANGES[var_id])
    elif name == "device state":
        assert isinstance(result, DeviceStateReport)
        assert result.state is None or isinstance(result.state, DeviceState)
        assert result.charge_stage is None or isinstance(result.charge_stage, ChargeStage)
    elif name == "firmware version":
        assert isinstance(result, requests.FirmwarePart)
        assert 0 <= result.value < (1 << 32 if result.complete else 1 << 16)
    else:
        assert result is None, (name, result)  # A, S and S-init acknowledgements


# ---- mutations ---------------------------------------------------------------------------

Mutation = Callable[[random.Random, bytes, bytes], bytes]


def flip_bits(rng: random.Random, frame: bytes, _other: bytes) -> bytes:
    out = bytearray(frame)
    for _ in range(rng.randint(1, 3)):
        out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out)


def truncate(rng: random.Random, frame: bytes, _other: bytes) -> bytes:
    return frame[: rng.randrange(len(frame))]


def insert(rng: random.Random, frame: bytes, _other: bytes) -> bytes:
    out = bytearray(frame)
    for _ in range(rng.randint(1, 3)):
        out.insert(rng.randint(0, len(out)), rng.randrange(256))
    return bytes(out)


def delete(rng: random.Random, frame: bytes, _other: bytes) -> bytes:
    out = bytearray(frame)
    for _ in range(rng.randint(1, min(3, len(out) - 1))):
        del out[rng.randrange(len(out))]
    return bytes(out)


def replace_byte(rng: random.Random, frame: bytes, _other: bytes) -> bytes:
    out = bytearray(frame)
    out[rng.randrange(len(out))] = rng.randrange(256)
    return bytes(out)


def duplicate(rng: random.Random, frame: bytes, _other: bytes) -> bytes:
    return frame * rng.randint(2, 3)


def concatenate(rng: random.Random, frame: bytes, other: bytes) -> bytes:
    return frame + other[: rng.randint(1, len(other))]


def splice(rng: random.Random, frame: bytes, other: bytes) -> bytes:
    return frame[: rng.randrange(1, len(frame))] + other[rng.randrange(len(other)) :]


def garbage_payload(rng: random.Random, frame: bytes, _other: bytes) -> bytes:
    """The frame's payload mangled, then a correct checksum: it passes framing."""
    payload = bytearray(frame[1:-1])
    keep = rng.choice((0, 1, 2, 3, 6))  # keep the header so the frame reaches its parser
    operation = rng.randrange(5)
    if operation == 0:
        for _ in range(rng.randint(1, 3)):
            payload[rng.randrange(len(payload))] ^= 1 << rng.randrange(8)
    elif operation == 1:
        for index in range(min(keep, len(payload)), len(payload)):
            if rng.random() < 0.5:
                payload[index] = rng.randrange(256)
    elif operation == 2:
        del payload[rng.randint(1, len(payload)) :]
    elif operation == 3 and len(payload) < MAX_PAYLOAD_LENGTH:
        payload += rng.randbytes(rng.randint(1, MAX_PAYLOAD_LENGTH - len(payload)))
    else:
        payload[keep:] = rng.randbytes(max(0, len(payload) - keep))
    return encode_frame(bytes(payload[:MAX_PAYLOAD_LENGTH]) or b"\xff")


def random_frame(rng: random.Random, _frame: bytes, _other: bytes) -> bytes:
    """A checksum-valid frame with a known (or random) header and a random body."""
    family = rng.randrange(4)
    if family == 0:
        payload = bytes((0xFF, rng.choice(b"VALFSHRWXYZ"))) + rng.randbytes(rng.randint(0, 8))
    elif family == 1:
        head = bytes((0x20, rng.randrange(4), rng.randrange(4), 0, rng.randrange(12)))
        payload = head + bytes((rng.randint(0x04, 0x0D),)) + rng.randbytes(rng.choice((9, 9, 5, 12)))
    elif family == 2:
        payload = b"\x41" + rng.randbytes(rng.choice((12, 12, 6, 20)))
    else:
        payload = rng.randbytes(rng.randint(1, MAX_PAYLOAD_LENGTH))
    return encode_frame(payload)


def noise(rng: random.Random, _frame: bytes, _other: bytes) -> bytes:
    return rng.randbytes(rng.randint(0, 40))


MUTATIONS: tuple[tuple[Mutation, int], ...] = (
    (flip_bits, 12),
    (truncate, 10),
    (insert, 10),
    (delete, 8),
    (replace_byte, 6),
    (duplicate, 3),
    (concatenate, 5),
    (splice, 6),
    (garbage_payload, 25),
    (random_frame, 10),
    (noise, 5),
)

"""Tolerant reply parsing (issue 12, field compatibility): every reply form, unknown codes."""

from __future__ import annotations

import pytest

from custom_components.victron_mk3.vebus_mk3 import requests
from custom_components.victron_mk3.vebus_mk3.const import ChargeStage, DeviceState, RamVar, SwitchState
from custom_components.victron_mk3.vebus_mk3.exceptions import UnsupportedError
from custom_components.victron_mk3.vebus_mk3.messages import DeviceStateReport
from custom_components.victron_mk3.vebus_mk3.variables import RamVarInfo

# Config frame: limits 3.6 / 50 / 16 A, switch register byte last.
CONFIG_WITHOUT_REGISTER = bytes.fromhex("41 10 00 00 00 10 24 00 f4 01 a0 00")


@pytest.mark.parametrize(
    ("data", "scale", "offset"),
    [
        (b"\x8e\x9c\x7f\x8f\x00\x00", 0.01, 0),  # 8E s s 8F o o
        (b"\x8e\x5f\x78\x8f\x00\x01", 1 / 1953, 256),
        # 8E s s o o: newer devices with the MK2 compatibility mode off (Victron's velib,
        # v2xxRamInfoHandler: "07 FF 'Y 8E 9C 7F 00 00")
        (b"\x8e\x9c\x7f\x00\x00", 0.01, 0),
        (b"\x8e\x5f\x78\x00\x01", 1 / 1953, 256),
        (b"\x8e\x9c\x7f", 0.01, 0),  # scale only: offset 0
    ],
)
def test_every_scale_info_reply_form(data: bytes, scale: float, offset: int) -> None:
    info = requests.ram_info(ord("Y"), RamVar.MAINS_VOLTAGE).parse(b"\xffY" + data)
    assert info.supported
    assert info.scale == pytest.approx(scale)
    assert info.offset == offset


@pytest.mark.parametrize(
    "data", [b"", b"\x8e", b"\x8e\x00\x00", b"\x8e\x00\x00\x8f\x00\x00", b"\x8e\x00\x00\x00\x00", b"\x90"]
)
def test_scale_info_replies_meaning_unsupported(data: bytes) -> None:
    info = requests.ram_info(ord("Z"), RamVar.STATE_OF_CHARGE).parse(b"\xffZ" + data)
    assert not info.supported
    assert info.var_id == RamVar.STATE_OF_CHARGE


@pytest.mark.parametrize(
    "data", [b"\x8e\x9c", b"\x8e\x9c\x7f\x8f", b"\x8e\x9c\x7f\x00\x8f\x00\x00", b"\x85\x00\x00"]
)
def test_scale_info_replies_of_other_shapes_are_rejected(data: bytes) -> None:
    with pytest.raises(ValueError, match="malformed"):
        requests.ram_info(ord("Z"), RamVar.MAINS_VOLTAGE).parse(b"\xffZ" + data)


@pytest.mark.parametrize(
    "request_",
    [
        requests.ram_info(ord("X"), RamVar.MAINS_VOLTAGE),
        requests.read_ram(ord("X"), [RamVar.MAINS_VOLTAGE]),
        requests.device_state(ord("X")),
        requests.firmware_word(ord("X"), high=False),
        requests.firmware_word(ord("X"), high=True),
    ],
    ids=lambda request: request.name,
)
def test_unknown_command_reply_raises_unsupported(request_: requests.Request[object]) -> None:
    with pytest.raises(UnsupportedError):
        request_.parse(b"\xffX\x80")


def test_variable_unsupported_reply_to_a_read_raises_unsupported() -> None:
    with pytest.raises(UnsupportedError):
        requests.read_ram(ord("X"), [RamVar.STATE_OF_CHARGE, RamVar.INVERTER_POWER]).parse(b"\xffX\x90")


def test_short_multi_id_read_returns_what_arrived() -> None:
    """Older units answer a three-id read with the first value only."""
    request = requests.read_ram(ord("X"), [14, 15, 16])
    assert request.parse(b"\xffX\x85\x10\x00") == [16]
    assert request.parse(b"\xffX\x85\x10\x00\x20\x00") == [16, 32]
    assert request.parse(b"\xffX\x85\x10\x00\x20\x00\x30\x00") == [16, 32, 48]
    for bad in (b"\xffX\x85", b"\xffX\x85\x10", b"\xffX\x85\x10\x00\x20", b"\xffX\x85" + bytes(8)):
        with pytest.raises(ValueError, match="malformed"):
            request.parse(bad)


def test_short_read_values_are_still_range_checked() -> None:
    scales = {RamVar.STATE_OF_CHARGE: RamVarInfo.from_raw(RamVar.STATE_OF_CHARGE, 0x8000 - 200, 0)}
    request = requests.read_ram(ord("Z"), [RamVar.STATE_OF_CHARGE, RamVar.INVERTER_POWER], scales)
    with pytest.raises(ValueError, match="RAM variable 13"):
        request.parse(b"\xffZ\x85\xfa\x00")  # 125 %


def test_device_state_reply_with_unknown_codes() -> None:
    request = requests.device_state(ord("Y"))
    report = request.parse(b"\xffY\x94\x09\x02")
    assert report == DeviceStateReport(DeviceState.CHARGE, 9, ChargeStage.ABSORPTION, 2)
    report = request.parse(b"\xffY\x94\x0a\x0b")  # velib knows 0x0A as "unknown" state
    assert (report.state, report.state_code) == (None, 0x0A)
    assert (report.charge_stage, report.charge_stage_code) == (None, 0x0B)
    with pytest.raises(ValueError, match="short"):
        request.parse(b"\xffY\x94\x09")


def test_flag_fields_keep_unknown_bits() -> None:
    """LEDs, interface flags and the switch register are IntFlags: unknown bits never raise."""
    assert int(requests.interface_flags().parse(b"\xffH\xff")) == 0xFF
    leds = requests.leds().parse(b"\xffL\xff\xff\x00\x00")
    assert (int(leds.on), int(leds.blink)) == (0xFF, 0xFF)
    assert int(requests.config().parse(CONFIG_WITHOUT_REGISTER + b"\xff").switch_register) == 0xFF


def test_firmware_version_request_carries_two_zero_bytes() -> None:
    assert requests.firmware_word(ord("X"), high=False).payload == b"\xffX\x05\x00\x00"
    assert requests.firmware_word(ord("Y"), high=True).payload == b"\xffY\x06\x00\x00"


def test_firmware_version_replies_split_and_combined() -> None:
    # Victron's velib (vebus_device.c, versionPart0Handler) shows both forms.
    low = requests.firmware_word(ord("X"), high=False)
    assert low.parse(bytes.fromhex("FF 58 82 F0 68")) == requests.FirmwarePart(0x68F0, complete=False)
    assert requests.firmware_word(ord("Y"), high=True).parse(bytes.fromhex("FF 59 83 28 00")).value == 0x28
    combined = low.parse(bytes.fromhex("FF 58 82 F0 68 28 00 07 01"))
    assert combined == requests.FirmwarePart(0x002868F0, complete=True)


def test_winmon_recovery_frame() -> None:
    assert requests.winmon_recovery().payload == bytes.fromhex("FF 53 00 00 00 01 90 00 01")
    with_state = requests.winmon_recovery(SwitchState.ON, 16.0).payload
    assert with_state == bytes.fromhex("FF 53 03 A0 00 01 90 00 01")
    assert requests.winmon_recovery(SwitchState.CHARGER_ONLY, 1e9).payload[2:5] == bytes.fromhex("01 FF 7F")
    assert requests.winmon_recovery(SwitchState.OFF).payload[2:5] == bytes.fromhex("04 00 00")
    assert requests.winmon_recovery(limit=6.5).payload[2:5] == bytes.fromhex("00 41 00")

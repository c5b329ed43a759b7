"""Typed requests and reply parsing, byte for byte."""

from __future__ import annotations

import pytest

from custom_components.victron_mk3.vebus_mk3 import requests
from custom_components.victron_mk3.vebus_mk3.const import (
    DeviceState,
    InterfaceFlags,
    Led,
    RamVar,
    SwitchRegister,
    SwitchState,
)
from custom_components.victron_mk3.vebus_mk3.exceptions import UnsupportedError
from custom_components.victron_mk3.vebus_mk3.messages import period_to_frequency
from custom_components.victron_mk3.vebus_mk3.variables import RamVarInfo


@pytest.mark.parametrize(
    ("raw_scale", "raw_offset", "scale", "offset", "signed"),
    [
        (0x7F9C, 0, 0.01, 0, False),  # 1/100, unsigned voltage
        (0x8064, 0, 0.01, 0, True),  # 1/100, signed current
        (0x800A, 0, 0.1, 0, True),  # 1/10 signed battery current
        (0x785F, 0x0100, 1 / 1953, 256, False),  # inverter period
        (0xFFFF, 0, 1.0, 0, True),  # signed watts
        (0x0002, 0xFFFE, 2.0, -2, False),  # plain integer scale, negative offset
    ],
)
def test_scale_decoding(raw_scale: int, raw_offset: int, scale: float, offset: int, signed: bool) -> None:
    info = RamVarInfo.from_raw(RamVar.BATTERY_VOLTAGE, raw_scale, raw_offset)
    assert info.supported
    assert info.scale == pytest.approx(scale)
    assert info.offset == offset
    assert info.signed is signed


@pytest.mark.parametrize("raw_scale", [0, 0x8000])
def test_zero_scale_means_unsupported(raw_scale: int) -> None:
    assert not RamVarInfo.from_raw(RamVar.STATE_OF_CHARGE, raw_scale, 0).supported


def test_inverter_current_is_signed_despite_its_info() -> None:
    info = RamVarInfo.from_raw(RamVar.INVERTER_CURRENT, 0x7F9C, 0)
    assert info.signed
    assert info.decode((-250).to_bytes(2, "little", signed=True)) == pytest.approx(-2.5)


def test_bit_variable() -> None:
    info = RamVarInfo.from_raw(RamVar.VIRTUAL_SWITCH, 3, 0x8000)
    assert info.is_bit
    assert info.decode(bytes([0b100, 0])) == 1.0
    assert info.decode(bytes([0b011, 0])) == 0.0


@pytest.mark.parametrize(
    ("amps", "field"),
    [(None, 0x8000), (0, 0), (-3, 0), (16, 160), (16.05, 160), (12.34, 123), (1e9, 0x7FFF)],
)
def test_current_limit_encoding(amps: float | None, field: int) -> None:
    payload = requests.set_state(SwitchState.CHARGER_ONLY, amps).payload
    assert payload == bytes((0xFF, ord("S"), 1, field & 0xFF, field >> 8, 0x01, 0x80))


def test_interface_flags_query_and_set() -> None:
    assert requests.interface_flags().payload == b"\xffH"
    assert requests.interface_flags(InterfaceFlags.STANDBY).payload == b"\xffH\x02"
    assert requests.interface_flags().parse(b"\xffH\x05") == InterfaceFlags.PANEL_DETECT | 0x04


def test_ram_requests_use_the_letter_as_nonce() -> None:
    request = requests.read_ram(ord("Y"), [14, 15, 16])
    assert request.payload == bytes((0xFF, ord("Y"), 0x30, 14, 15, 16))
    assert request.matches(b"\xffY\x85\x01\x00\x02\x00\x03\x00")
    assert not request.matches(b"\xffX\x85\x01\x00\x02\x00\x03\x00")
    assert request.parse(b"\xffY\x85\x01\x00\x02\x00\xff\xff") == [1, 2, 0xFFFF]
    with pytest.raises(UnsupportedError):
        request.parse(b"\xffY\x90")
    with pytest.raises(ValueError, match="malformed"):
        request.parse(b"\xffY\x85\x01")
    with pytest.raises(ValueError, match="at once"):
        requests.read_ram(ord("X"), [1, 2, 3, 4])


def test_ram_info_reply() -> None:
    request = requests.ram_info(ord("X"), 4)
    assert request.payload == b"\xffX\x36\x04\x00"
    assert request.parse(b"\xffX\x8e\x9c\x7f\x8f\x00\x00").scale == pytest.approx(0.01)
    assert not request.parse(b"\xffX\x90").supported
    with pytest.raises(ValueError, match="malformed"):
        request.parse(b"\xffX\x8e\x9c")


def _scales() -> dict[int, RamVarInfo]:
    volts, amps = RamVarInfo.from_raw(0, 0x7F9C, 0), RamVarInfo.from_raw(1, 0x8064, 0)
    return {
        RamVar.MAINS_VOLTAGE: volts,
        RamVar.MAINS_CURRENT: amps,
        RamVar.INVERTER_VOLTAGE: volts,
        RamVar.INVERTER_CURRENT: RamVarInfo.from_raw(RamVar.INVERTER_CURRENT, 0x7F9C, 0),
        RamVar.BATTERY_VOLTAGE: volts,
        RamVar.BATTERY_CURRENT: RamVarInfo.from_raw(5, 0x800A, 0),
        RamVar.INVERTER_PERIOD: RamVarInfo.from_raw(7, 0x785F, 0x0100),
        RamVar.MAINS_PERIOD: RamVarInfo.from_raw(8, 0x8000 - 977, 0),
    }


def test_dc_info_frame() -> None:
    payload = bytes.fromhex("20 01 01 00 09 0c") + (5210).to_bytes(2, "little")
    payload += (125).to_bytes(3, "little") + (30).to_bytes(3, "little") + bytes([135])
    dc = requests.dc_info(_scales()).parse(payload)
    assert dc.voltage == pytest.approx(52.10)
    assert dc.inverter_current == pytest.approx(12.5)
    assert dc.charger_current == pytest.approx(3.0)
    assert dc.current == pytest.approx(-9.5)
    assert dc.inverter_frequency == pytest.approx(10 / (391 / 1953))


def test_ac_info_frame_l1_with_no_mains() -> None:
    payload = bytes.fromhex("20 01 01 00 04 08") + (0).to_bytes(2, "little") + (0).to_bytes(2, "little")
    payload += (23000).to_bytes(2, "little") + (-180).to_bytes(2, "little", signed=True) + bytes([0])
    request = requests.ac_info(1, _scales())
    assert request.matches(payload)
    assert not requests.ac_info(2, _scales()).matches(payload)
    ac = request.parse(payload)
    assert ac.phase == 1
    assert ac.device_state is DeviceState.INVERT_FULL
    assert ac.inverter_voltage == pytest.approx(230.0)
    assert ac.inverter_current == pytest.approx(-1.8)
    assert ac.mains_frequency is None  # period byte 0: no mains waveform


def test_ac_info_with_unknown_state_keeps_its_values() -> None:
    """Older firmware leaves the state byte unfilled (0xB7 seen): state unknown, values kept."""
    for code in (0x63, 0xB7, 0x0A):
        payload = bytearray(_ac())
        payload[4] = code
        ac = requests.ac_info(1, _scales()).parse(bytes(payload))
        assert ac.device_state is None
        assert ac.device_state_code == code
        assert ac.mains_voltage == pytest.approx(230.0)
        assert ac.mains_current == pytest.approx(1.5)
        assert ac.mains_frequency == pytest.approx(10 / (195 / 977))


def test_config_frame() -> None:
    payload = bytes.fromhex("41 00 00 00 00 90") + (36).to_bytes(2, "little") + (500).to_bytes(2, "little")
    payload += (160).to_bytes(2, "little") + bytes([0x37])
    config = requests.config().parse(payload)
    assert config.ac_input_count == 1
    assert config.remote_panel_detected
    assert (config.minimum_current_limit, config.maximum_current_limit, config.current_limit) == (
        3.6,
        50.0,
        16.0,
    )
    assert SwitchRegister.FRONT_SWITCH_UP in config.switch_register
    assert requests.config().timeout >= 1.0


def test_config_frame_with_minimum_above_maximum_is_rejected() -> None:
    payload = bytes.fromhex("41 00 00 00 00 10") + (600).to_bytes(2, "little")
    payload += (500).to_bytes(2, "little") + (160).to_bytes(2, "little") + b"\x00"
    with pytest.raises(ValueError, match="above maximum"):
        requests.config().parse(payload)


def test_leds_and_version() -> None:
    leds = requests.leds().parse(b"\xffL\x09\x40\x00\x00")
    assert leds.on == Led.MAINS | Led.FLOAT
    assert leds.blink == Led.LOW_BATTERY
    version = requests.version().parse(bytes.fromhex("FF5628DB110042"))
    assert (version.version, version.mode) == (1170216, 0x42)


def test_period_zero_is_zero_hertz() -> None:
    assert period_to_frequency(0) == 0.0


# ---- validation: garbage that passed the checksum must not pass as a reading ----------------


def _dc(volts: int = 5210, inverter: int = 125, charger: int = 30, period: int = 135) -> bytes:
    payload = bytes.fromhex("20 01 01 00 09 0c") + volts.to_bytes(2, "little")
    return payload + inverter.to_bytes(3, "little") + charger.to_bytes(3, "little") + bytes([period])


def _ac(mains_v: int = 23000, mains_i: int = 150, inverter_v: int = 23000, period: int = 195) -> bytes:
    payload = bytes.fromhex("20 01 01 00 09 08") + mains_v.to_bytes(2, "little")
    payload += mains_i.to_bytes(2, "little", signed=True) + inverter_v.to_bytes(2, "little")
    return payload + (0).to_bytes(2, "little") + bytes([period])


def _config(minimum: int = 36, maximum: int = 500, actual: int = 160) -> bytes:
    payload = bytes.fromhex("41 10 00 00 00 10") + minimum.to_bytes(2, "little")
    return payload + maximum.to_bytes(2, "little") + actual.to_bytes(2, "little") + b"\x00"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (_dc(volts=20000), "battery voltage"),  # 200 V on a 48 V bank
        (_dc(inverter=0x7FFFFF), "inverter-side current"),  # 838 kA
        (_dc(charger=0x800000), "charger-side current"),  # negative 838 kA
    ],
)
def test_implausible_dc_values_are_rejected(payload: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        requests.dc_info(_scales()).parse(payload)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (_ac(mains_v=60000), "mains voltage"),  # 600 V
        (_ac(inverter_v=45000), "inverter voltage"),
        (_ac(period=5), "mains frequency"),  # 977 / 5 periods: 1954 Hz
    ],
)
def test_implausible_ac_values_are_rejected(payload: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        requests.ac_info(1, _scales()).parse(payload)


def test_ac_currents_times_the_factors_are_range_checked() -> None:
    payload = bytearray(_ac(mains_i=30000))  # 300 A is possible …
    assert requests.ac_info(1, _scales()).parse(bytes(payload)).mains_current == pytest.approx(300)
    payload[1] = 200  # … a back-feed factor above any system's 18 units is noise
    with pytest.raises(ValueError, match="unit factors"):
        requests.ac_info(1, _scales()).parse(bytes(payload))
    payload[1] = 4  # 1200 A from four units is still too much for one phase
    with pytest.raises(ValueError, match="mains current"):
        requests.ac_info(1, _scales()).parse(bytes(payload))


def test_mains_current_without_mains_voltage_is_rejected() -> None:
    """An open input carries no current: amps at 0 V are a frame that slipped the checksum."""
    with pytest.raises(ValueError, match="at 0 V"):
        requests.ac_info(1, _scales()).parse(_ac(mains_v=0, mains_i=840))
    # Sensor offset on an open input is fine.
    assert requests.ac_info(1, _scales()).parse(_ac(mains_v=0, mains_i=3)).mains_current == pytest.approx(
        0.03
    )


@pytest.mark.parametrize("period", [0x00, 0xFF])
def test_period_bytes_without_a_waveform_give_no_frequency(period: int) -> None:
    """0x00 and 0xFF mean "no waveform" on both sides, whatever the scale makes of them."""
    assert requests.ac_info(1, _scales()).parse(_ac(period=period)).mains_frequency is None
    assert requests.dc_info(_scales()).parse(_dc(period=period)).inverter_frequency is None
    # With an offset the raw byte would scale to a finite period; it still means no waveform.
    scales = {**_scales(), RamVar.MAINS_PERIOD: RamVarInfo.from_raw(8, 0x8000 - 977, 0x0100)}
    assert requests.ac_info(1, scales).parse(_ac(period=period)).mains_frequency is None


@pytest.mark.parametrize("current_var", [RamVar.MAINS_CURRENT, RamVar.INVERTER_CURRENT])
def test_ac_currents_are_signed_whatever_the_scale_info_says(current_var: RamVar) -> None:
    """A backfeed of -1.5 A must not decode as +653.86 A because the info said unsigned."""
    scales = {**_scales(), current_var: RamVarInfo(current_var, 0.01, 0, signed=False)}
    payload = bytearray(_ac(mains_i=-150))
    payload[12:14] = (-150).to_bytes(2, "little", signed=True)
    ac = requests.ac_info(1, scales).parse(bytes(payload))
    assert ac.mains_current == pytest.approx(-1.5)
    assert ac.inverter_current == pytest.approx(-1.5)
    # RAM reads of the same variables too: the unsigned info is overridden at discovery.
    info = RamVarInfo.from_raw(current_var, 0x7F9C, 0)  # 1/100, declared unsigned
    assert info.decode((-150).to_bytes(2, "little", signed=True)) == pytest.approx(-1.5)


@pytest.mark.parametrize(
    ("payload", "message"),
    [(_config(maximum=60000), "maximum current limit"), (_config(actual=20000), "actual current limit")],
)
def test_absurd_current_limits_are_rejected(payload: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        requests.config().parse(payload)


def test_info_frame_field_without_a_scale_is_not_reported_as_zero() -> None:
    scales = _scales()
    scales[RamVar.BATTERY_VOLTAGE] = RamVarInfo.unsupported(RamVar.BATTERY_VOLTAGE)
    with pytest.raises(ValueError, match="no scale"):
        requests.dc_info(scales).parse(_dc())


@pytest.mark.parametrize("raw_scale", [0x7F9C, 0x0011, 0x3FFF])  # 1/100, bit 16, bit 16382
def test_bit_variable_with_an_impossible_bit_is_rejected(raw_scale: int) -> None:
    reply = b"\xffX\x8e" + raw_scale.to_bytes(2, "little") + b"\x8f\x00\x80"
    with pytest.raises(ValueError, match="bit variable"):
        requests.ram_info(ord("X"), RamVar.VIRTUAL_SWITCH).parse(reply)


def test_ram_values_are_range_checked_with_scales() -> None:
    scales = {RamVar.STATE_OF_CHARGE: RamVarInfo.from_raw(RamVar.STATE_OF_CHARGE, 0x8000 - 200, 0)}
    request = requests.read_ram(ord("Z"), [RamVar.STATE_OF_CHARGE], scales)
    assert request.parse(b"\xffZ\x85\x96\x00") == [150]  # 75 %
    with pytest.raises(ValueError, match="RAM variable 13"):
        request.parse(b"\xffZ\x85\xfa\x00")  # 125 %


def test_ram_read_reply_with_another_value_count_is_rejected() -> None:
    """A late reply to a three-variable read with the same letter must not answer a one-variable read."""
    request = requests.read_ram(ord("X"), [RamVar.STATE_OF_CHARGE])
    with pytest.raises(ValueError, match="malformed"):
        request.parse(b"\xffX\x85\x10\x00\x20\x00\x30\x00")

"""Frames captured from real devices, decoded with our parsers.

Every byte string carries its source and what that source states. Where a source states no
decoded value, only what follows from the protocol facts (protocol.md) is asserted, and the
comment says so. Sources:

[IG] diebietse/invertergui, mk2driver/mk2_test.go, ``TestSync``: two read buffers "extracted
     from Mk2" — case "basic" (2019) and case "multiplus24/3000" (2021), with the values the
     driver decodes from them (BatVoltage, InVoltage, InCurrent, InFrequency, OutCurrent …).
[MS] msatlow/victron-pure-python-ess, vebus.py (Martin Steppuhn's MultiPlus-II ESS driver,
     "listening to the communication between Venus OS and MK3"): RX lines in docstrings.
[VL] Victron's velib, src/mk2/vebus_device.c (found through the code search, repository not
     named there): example exchanges in the comments of the RAM-info and version handlers.
[PM] /work/shared/protocol.md, Link: the version frame capture.
Peer test fixtures that are constructed, not captured (marked as such below):
[AB] alexmbird/improved-victron-mk3, tests/test_connect.py: the short-mode init S frame.
[MH] MehdiHamidi/victron-mk3, tests/test_state_of_charge.py: SOC scale and "8E 00 00".
"""

from __future__ import annotations

import pytest

from custom_components.victron_mk3.vebus_mk3 import requests
from custom_components.victron_mk3.vebus_mk3.const import DeviceState, Led, RamVar
from custom_components.victron_mk3.vebus_mk3.frame import FrameDecoder, encode_frame
from custom_components.victron_mk3.vebus_mk3.messages import LedStatus, is_mk2, parse_version
from custom_components.victron_mk3.vebus_mk3.variables import RamVarInfo

W = ord("W")


def decode_stream(hex_stream: str) -> list[bytes]:
    """Payloads of a captured byte stream; every byte must belong to a valid frame."""
    decoder = FrameDecoder()
    payloads = decoder.feed(bytes.fromhex(hex_stream))
    assert decoder.stats.skipped_bytes == 0
    assert decoder.stats.bad_checksums == 0
    assert decoder.pending == 0
    return payloads


def scales_from_replies(replies: list[bytes]) -> dict[int, RamVarInfo]:
    """RAM variables 0.. from their captured ``W 0x36`` replies, in request order."""
    return {var_id: requests.ram_info(W, var_id).parse(reply) for var_id, reply in enumerate(replies)}


# ---- [IG] case "basic": read buffer of TestSync -------------------------------------------

IG_BASIC = (
    "04 ff 41 01 00 bb"  # A 1 0 acknowledged
    " 07 ff 56 96 3e 11 00 00 bf"  # V (unsolicited)
    " 08 ff 57 8e 9c 7f 8f 00 00 6a"  # RAM info, var 0 … var 13 in request order
    " 08 ff 57 8e 64 80 8f 00 00 a1"
    " 08 ff 57 8e 9c 7f 8f 00 00 6a"
    " 08 ff 57 8e 9c 7f 8f 00 00 6a"
    " 08 ff 57 8e 9c 7f 8f 00 00 6a"
    " 08 ff 57 8e 64 80 8f 00 00 a1"
    " 08 ff 57 8e 9c 7f 8f 00 00 6a"
    " 08 ff 57 8e 57 78 8f 00 01 b5"
    " 08 ff 57 8e 2f 7c 8f 00 00 da"
    " 08 ff 57 8e 64 80 8f 00 00 a1"
    " 08 ff 57 8e 04 00 8f 00 80 01"
    " 08 ff 57 8e 01 00 8f 00 80 04"
    " 08 ff 57 8e 02 00 8f 00 80 03"
    " 08 ff 57 8e 38 7f 8f 00 00 ce"
    " 07 ff 56 96 3e 11 00 00 bf"  # V again
    " 0f 20 f3 00 c8 02 0c a1 05 00 00 00 28 00 00 88 b2"  # F 0: DC info
    " 0f 20 01 01 ca 09 08 aa 58 ab 00 aa 58 9a 00 c3 e8"  # F 1: AC info, state 9 (charge)
    " 06 ff 4c 03 00 00 00 ac"  # L
    " 05 ff 57 85 c8 00 58"  # W 0x30 read of variable 13 (SOC)
)

# [IG] case "multiplus24/3000": the same sequence from a MultiPlus 24/3000.
IG_MULTIPLUS_24_3000 = (
    "04 ff 41 01 00 bb"
    " 07 ff 56 98 3e 11 00 00 bd"
    " 08 ff 57 8e 9c 7f 8f 00 00 6a"  # var 0
    " 08 ff 57 8e 9c 7f 8f 00 00 6a"  # var 1: mains current declared UNSIGNED here
    " 08 ff 57 8e 9c 7f 8f 00 00 6a"
    " 08 ff 57 8e 9c 7f 8f 00 00 6a"  # var 3: inverter current declared unsigned
    " 08 ff 57 8e 9c 7f 8f 00 00 6a"
    " 08 ff 57 8e 64 80 8f 00 00 a1"
    " 08 ff 57 8e 9c 7f 8f 00 00 6a"
    " 08 ff 57 8e 57 78 8f 00 01 b5"
    " 08 ff 57 8e 2f 7c 8f 00 00 da"
    " 08 ff 57 8e 64 80 8f 00 00 a1"
    " 08 ff 57 8e 04 00 8f 00 80 01"
    " 08 ff 57 8e 01 00 8f 00 80 04"
    " 08 ff 57 8e 06 00 8f 00 80 ff"
    " 08 ff 57 8e 38 7f 8f 00 00 ce"
    " 07 ff 56 98 3e 11 00 00 bd"
    " 0f 20 b6 89 6d b7 0c 4e 0a 00 00 00 00 00 00 88 82"  # DC info
    " 0f 20 01 01 6d b7 08 77 5b 21 00 77 5b fe ff c3 1e"  # AC info, state byte 0xB7
    " 08 ff 4c 09 00 00 00 03 00 a1"  # L with four more bytes after on/blink
    " 05 ff 57 85 c8 00 58"
)


def _ig(stream: str) -> tuple[list[bytes], dict[int, RamVarInfo]]:
    payloads = decode_stream(stream)
    assert len(payloads) == 21
    return payloads, scales_from_replies(payloads[2:16])


def test_ig_basic_scale_info_replies() -> None:
    """Protocol facts only (the source asserts no scales): 1/100 unsigned, signed, bits, periods."""
    _payloads, scales = _ig(IG_BASIC)
    assert all(info.supported for info in scales.values())
    assert scales[RamVar.MAINS_VOLTAGE] == RamVarInfo(0, 0.01, 0, signed=False)
    assert scales[RamVar.MAINS_CURRENT].signed  # declared signed by this unit (0x8064)
    assert scales[RamVar.BATTERY_CURRENT].scale == pytest.approx(0.01)
    period = scales[RamVar.INVERTER_PERIOD]
    assert (period.scale, period.offset) == (pytest.approx(1 / 1961), 256)
    assert scales[RamVar.MAINS_PERIOD].scale == pytest.approx(1 / 977)
    assert scales[RamVar.STATE_OF_CHARGE].scale == pytest.approx(1 / 200)
    # Offset 0x8000: bit variables; the scale word is bit number + 1.
    for var_id, bit in ((RamVar.VIRTUAL_SWITCH, 3), (RamVar.IGNORE_AC_INPUT, 0), (12, 1)):
        assert scales[var_id].is_bit
        assert scales[var_id].decode((1 << bit).to_bytes(2, "little")) == 1.0


def test_ig_basic_info_frames_leds_and_soc() -> None:
    """Values the source's driver states: 14.41 V, 226.98 V, 1.71 A, 1.54 A, 50.10 / 50.03 Hz, SOC 1."""
    payloads, scales = _ig(IG_BASIC)
    dc = requests.dc_info(scales).parse(payloads[17])
    assert dc.voltage == pytest.approx(14.41)
    # The source states BatCurrent -0.4 in its own sign convention; the frame carries 0.40 A
    # on the charger side and nothing on the inverter side (mains + absorption LEDs: charging).
    assert (dc.inverter_current, dc.charger_current) == (0.0, pytest.approx(0.40))
    assert dc.inverter_frequency == pytest.approx(50.025510204081634)

    ac = requests.ac_info(1, scales).parse(payloads[18])
    assert ac.device_state is DeviceState.CHARGE  # index 4; index 3 (0xCA here) is not read
    assert ac.mains_voltage == pytest.approx(226.98)
    assert ac.mains_current == pytest.approx(1.71)
    assert ac.mains_frequency == pytest.approx(50.10256410256411)
    assert ac.inverter_voltage == pytest.approx(226.98)
    assert ac.inverter_current == pytest.approx(1.54)

    assert requests.leds().parse(payloads[19]) == LedStatus(Led.MAINS | Led.ABSORPTION, Led(0))
    # The read asked for ids 0x0D and 0x00 (see the writes below) and got one value back:
    # a real short multi-id read. SOC 200 x 1/200 = 1 ("ChargeState 1").
    soc = requests.read_ram(W, [RamVar.STATE_OF_CHARGE, 0], scales).parse(payloads[20])
    assert soc == [200]
    assert scales[RamVar.STATE_OF_CHARGE].decode(soc[0].to_bytes(2, "little")) == pytest.approx(1.0)


def test_ig_version_frames() -> None:
    """Protocol facts only: u32 version + mode byte (the source's Version field is its own)."""
    for stream, version in ((IG_BASIC, 0x00113E96), (IG_MULTIPLUS_24_3000, 0x00113E98)):
        payloads = decode_stream(stream)
        info = parse_version(payloads[1])
        assert (info.version, info.mode) == (version, 0x00)
        assert payloads[16] == payloads[1]  # the unsolicited repeat


def test_ig_requests_encode_to_the_sources_writes() -> None:
    """The source's ``knownWrites``, byte for byte, from our request builders."""
    known_writes = (
        "04 ff 41 01 00 bb"
        + "".join(f" 05 ff 57 36 {var_id:02x} 00 {(0x6F - var_id) & 0xFF:02x}" for var_id in range(14))
        + " 03 ff 46 00 b8 03 ff 46 01 b7 02 ff 4c b3 05 ff 57 30 0d 00 68"
    )
    ours = [
        requests.select_address(0),
        *(requests.ram_info(W, var_id) for var_id in range(14)),
        requests.dc_info({}),
        requests.ac_info(1, {}),
        requests.leds(),
        requests.read_ram(W, [RamVar.STATE_OF_CHARGE, 0]),
    ]
    assert b"".join(encode_frame(request.payload) for request in ours) == bytes.fromhex(known_writes)


def test_ig_multiplus_24_3000_unfilled_state_and_unsigned_declared_currents() -> None:
    """The older unit: state byte 0xB7, currents declared unsigned yet negative (-0.02 A)."""
    payloads, scales = _ig(IG_MULTIPLUS_24_3000)
    assert scales[RamVar.MAINS_CURRENT].signed  # declared unsigned (0x7F9C); decoded signed
    assert scales[RamVar.INVERTER_CURRENT].signed
    assert scales[12].is_bit
    assert scales[12].decode((1 << 5).to_bytes(2, "little")) == 1.0

    dc = requests.dc_info(scales).parse(payloads[17])
    assert dc.voltage == pytest.approx(26.38)  # "BatVoltage 26.38"
    assert dc.current == 0.0  # "BatCurrent 0"
    assert dc.inverter_frequency == pytest.approx(50.025510204081634)

    ac = requests.ac_info(1, scales).parse(payloads[18])
    assert ac.device_state is None
    assert ac.device_state_code == 0xB7  # the "state byte not filled" quirk of protocol.md
    assert ac.mains_voltage == pytest.approx(234.15)
    assert ac.mains_current == pytest.approx(0.33)
    assert ac.mains_frequency == pytest.approx(50.1025641025641)
    assert ac.inverter_voltage == pytest.approx(234.15)
    assert ac.inverter_current == pytest.approx(-0.02)  # "OutCurrent -0.02", not +655.34 A

    assert requests.leds().parse(payloads[19]) == LedStatus(Led.MAINS | Led.FLOAT, Led(0))
    assert requests.read_ram(W, [RamVar.STATE_OF_CHARGE, 0], scales).parse(payloads[20]) == [200]


# ---- [MS] MultiPlus-II captures (Venus OS <-> MK3 traffic) ---------------------------------


# Scales the [MS] source applies itself (/100 for voltages and AC currents, period raw), built
# from [IG] 24/3000 replies that declare both AC currents unsigned: the signedness override is
# what makes the captured backfeed read right.
def _ms_scales() -> dict[int, RamVarInfo]:
    _payloads, scales = _ig(IG_MULTIPLUS_24_3000)
    return scales


def test_ms_version_and_address() -> None:
    # "RX: 07 FF 56 24 DB 11 00 42 52 … VERSION version=1170212 mode=B"
    (version,) = decode_stream("07 FF 56 24 DB 11 00 42 52")
    assert parse_version(version).version == 1170212
    assert parse_version(version).mode == ord("B")
    # "RX: 04 FF 41 01 00 BB … Device address: action=1 device=0"
    (address,) = decode_stream("04 FF 41 01 00 BB")
    assert requests.select_address(0).matches(address)
    # "TX: 02 FF 56 A9", "TX: 02 FF 4C B3", "TX: 03 FF 46 01 B7": our encoders agree.
    assert encode_frame(requests.version().payload) == bytes.fromhex("02 FF 56 A9")
    assert encode_frame(requests.leds().payload) == bytes.fromhex("02 FF 4C B3")
    assert encode_frame(requests.ac_info(1, {}).payload) == bytes.fromhex("03 FF 46 01 B7")


def test_ms_leds_with_extra_bytes() -> None:
    # "RX: 08 FF 4C 01 0C 00 00 80 00 20 … LED ON:Mains BLINK:Bulk Float"
    (payload,) = decode_stream("08 FF 4C 01 0C 00 00 80 00 20")
    assert requests.leds().parse(payload) == LedStatus(Led.MAINS, Led.BULK | Led.FLOAT)


def test_ms_ac_info_with_backfeed_current() -> None:
    # "RX: 0F 20 01 01 01 09 08 EC 5A 5F FF EC 5A 08 00 C3 08 … 'state': 'StateCharge',
    # 'mains_voltage': 23276, 'mains_current': 65375, 'inverter_voltage': 23276,
    # 'inverter_current': 8, 'mains_period': 195" — the source unpacks the currents as int16
    # and divides by 100, so its mains current is -1.61 A; read unsigned it would be 653.75 A.
    (payload,) = decode_stream("0F 20 01 01 01 09 08 EC 5A 5F FF EC 5A 08 00 C3 08")
    ac = requests.ac_info(1, _ms_scales()).parse(payload)
    assert ac.device_state is DeviceState.CHARGE
    assert ac.phase == 1
    assert ac.mains_voltage == pytest.approx(232.76)
    assert ac.mains_current == pytest.approx(-1.61)
    assert ac.inverter_voltage == pytest.approx(232.76)
    assert ac.inverter_current == pytest.approx(0.08)
    # Period 195 with the 1/977 scale of [IG]: protocol facts, not stated by [MS].
    assert ac.mains_frequency == pytest.approx(10 / (195 / 977))


def test_ms_ram_read_of_the_first_assistant_record() -> None:
    # "TX: 05 FF 58 30 80 00 F4 / RX: 07 FF 58 85 90 00 61 59 D3  Assistant SCAN: 128 0x0090"
    # (and "128 0x0090 Assistant ID=9 Following RAMIDs=0"). The second value is RAM id 0
    # (mains voltage); the source states no value for it.
    request = requests.read_ram(ord("X"), [128, 0])
    assert encode_frame(request.payload) == bytes.fromhex("05 FF 58 30 80 00 F4")
    (payload,) = decode_stream("07 FF 58 85 90 00 61 59 D3")
    header, mains_raw = request.parse(payload)
    assert header == 0x0090
    assert (header >> 4, header & 0x0F) == (9, 0)
    assert mains_raw == 0x5961


def test_ms_frames_we_do_not_parse_still_frame_correctly() -> None:
    """Snapshot (0x99) and write-via-id (0x87) replies: framing and checksum only."""
    # "RX: 09 FF 58 99 89 FE 05 00 72 01 08 … [-375, 5, 370]"
    snapshot, ack_z, ack_x = decode_stream("09 FF 58 99 89 FE 05 00 72 01 08 03 FF 5A 87 1D 03 FF 58 87 1F")
    values = [int.from_bytes(snapshot[3 + 2 * i : 5 + 2 * i], "little", signed=True) for i in range(3)]
    assert snapshot[2] == 0x99
    assert values == [-375, 5, 370]
    # "RX: 03 FF 5A 87 1D … Write ramvar OK" and "new rx : 03 FF 58 87 1F"
    assert is_mk2(ack_z, ord("Z"))
    assert is_mk2(ack_x, ord("X"))
    assert ack_z[2] == ack_x[2] == 0x87
    # "new rx 0B FF 58 99 FF FF FF FF 1C 13 00 00 DA" (no values stated)
    (longer,) = decode_stream("0B FF 58 99 FF FF FF FF 1C 13 00 00 DA")
    assert len(longer) == 11


# ---- [VL] Victron's velib: reply forms in its handler comments -----------------------------


def test_vl_scale_info_without_offset_code() -> None:
    # "> 05 FF 'Y 36 00 00 [6D]  < 07 FF 'Y 8E 9C 7F 00 00 [F8]" (newer devices, MK2
    # compatibility mode off: the 0x8F code is dropped, the offset follows the scale).
    request = requests.ram_info(ord("Y"), RamVar.MAINS_VOLTAGE)
    assert encode_frame(request.payload) == bytes.fromhex("05 FF 59 36 00 00 6D")
    (payload,) = decode_stream("07 FF 59 8E 9C 7F 00 00 F8")
    info = request.parse(payload)
    assert (info.supported, info.scale, info.offset, info.signed) == (True, pytest.approx(0.01), 0, False)


def test_vl_scale_info_not_supported() -> None:
    # "< 03 FF 'Z 8E [16] (not supported)"
    (payload,) = decode_stream("03 FF 5A 8E 16")
    assert not requests.ram_info(ord("Z"), RamVar.STATE_OF_CHARGE).parse(payload).supported


def test_vl_firmware_version_combined_and_split() -> None:
    # Combined: "> 03 FF 'X 05 A1  < 09 FF 'X 82 F0 68 28 00 07 01 96" (the bytes after the
    # version are "additional data for assistant support").
    (combined,) = decode_stream("09 FF 58 82 F0 68 28 00 07 01 96")
    part = requests.firmware_word(ord("X"), high=False).parse(combined)
    assert part == requests.FirmwarePart(0x002868F0, complete=True)
    # Split (older devices or compat mode): "< 05 FF 'X 82 F0 68 CA", "< 05 FF 'Y 83 28 00 F8".
    low_payload, high_payload = decode_stream("05 FF 58 82 F0 68 CA 05 FF 59 83 28 00 F8")
    low = requests.firmware_word(ord("X"), high=False).parse(low_payload)
    high = requests.firmware_word(ord("Y"), high=True).parse(high_payload)
    assert (low.complete, high.value << 16 | low.value) == (False, 0x002868F0)
    assert 0x002868F0 % 1000 == 304  # AA BB CCC: firmware 304 (protocol.md, uncertain rule)


# ---- [PM] protocol.md ----------------------------------------------------------------------


def test_pm_version_frame() -> None:
    # "A real capture of that frame: 07 FF 56 28 DB 11 00 42 4E — version 0x0011DB28 (1170216)"
    (payload,) = decode_stream("07 FF 56 28 DB 11 00 42 4E")
    assert (parse_version(payload).version, parse_version(payload).mode) == (1170216, 0x42)


# ---- peer fixtures: constructed by other libraries' tests, not captured -------------------


def test_ab_winmon_init_frame_matches_a_peer() -> None:
    # [AB] "frames[1] == bytes.fromhex('09ff530000000190000113')" — the init S frame a peer
    # sends; ours without a known state/limit is the same, byte for byte.
    assert encode_frame(requests.winmon_recovery().payload) == bytes.fromhex("09ff530000000190000113")


def test_mh_soc_scale_and_short_unsupported_reply() -> None:
    # [MH] "RAM variable 13 reports scale 0.005 … A raw value of 200 therefore represents 1.0"
    soc_info = requests.ram_info(ord("X"), RamVar.STATE_OF_CHARGE)
    info = soc_info.parse(bytes([0xFF, ord("X"), 0x8E, 0x38, 0x7F, 0x8F, 0, 0]))
    assert info.decode((200).to_bytes(2, "little")) == pytest.approx(1.0)
    # [MH] "A zero scale is the protocol's unsupported-variable response": FF X 8E 00 00
    reply = bytes([0xFF, ord("X"), 0x8E, 0, 0])
    assert not soc_info.parse(reply).supported


def test_every_captured_stream_survives_led_appending() -> None:
    """The same captures with LED bytes appended (as an interface in that mode sends them)."""
    for stream in (IG_BASIC, IG_MULTIPLUS_24_3000):
        plain = decode_stream(stream)
        decoder = FrameDecoder()
        with_leds = b"".join(encode_frame(payload, leds=(0x01, 0x08)) for payload in plain)
        assert decoder.feed(with_leds) == plain
        assert decoder.stats.led_frames == len(plain)
        assert decoder.stats.appended_leds == (0x01, 0x08)

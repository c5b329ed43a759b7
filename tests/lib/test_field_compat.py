"""Field compatibility (issue 12), end to end over real ptys: older units and interface modes.

``OlderUnit`` is the simulated MultiPlus with the quirks seen on older firmware layered over its
replies: multi-id RAM reads answered with the first value only, no firmware-version command,
an unfilled state byte in the AC info frame. LED-appended frames come from a bare pty, as the
simulator only speaks plain frames.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
import os
from pathlib import Path
import time

import pytest

from custom_components.victron_mk3.vebus_mk3 import Mk3Client
from custom_components.victron_mk3.vebus_mk3.const import (
    W_RAM_VALUES,
    W_READ_RAM,
    W_UNKNOWN_COMMAND,
    W_UNSUPPORTED,
    W_VERSION_HIGH,
    W_VERSION_LOW,
    Led,
    RamVar,
)
from custom_components.victron_mk3.vebus_mk3.exceptions import UnsupportedError
from custom_components.victron_mk3.vebus_mk3.frame import encode_frame
from custom_components.victron_mk3.vebus_mk3.messages import LedStatus
from custom_components.victron_mk3.vebus_mk3.simulator import Mk3Device, MultiplusModel, Simulator
from custom_components.victron_mk3.vebus_mk3.simulator.device import Response

W_FAMILY = b"WXYZ"
UNFILLED_STATE = 0xB7  # seen from a MultiPlus 24/3000 on an MK2-USB (protocol.md, Field quirks)


class OlderUnit(Mk3Device):
    """The simulated unit with older firmware's answers (uncertain in detail: see each flag)."""

    def __init__(self, model: MultiplusModel, *, unsupported_reads: frozenset[int] = frozenset()) -> None:
        super().__init__(model)
        self.first_value_only = True  # answers a multi-id 0x30 read with the first value only
        self.unsupported_reads = unsupported_reads  # ids whose 0x30 read answers 0x90
        self.firmware_command_known = False  # 0x05/0x06 answer 0x80

    def handle(self, payload: bytes) -> Response:
        response = super().handle(payload)
        if len(payload) < 3 or payload[0] != 0xFF:
            return response
        letter, sub, args = payload[1], payload[2], payload[3:]
        if letter == ord("F") and sub in (1, 2, 3, 4):
            response.frames = [self._unfill_state(frame) for frame in response.frames]
        if letter not in W_FAMILY:
            return response
        reply_header = bytes((0xFF, letter))
        if sub == W_READ_RAM and self.unsupported_reads.intersection(args):
            response.frames = [reply_header + bytes((W_UNSUPPORTED,))]
        elif sub == W_READ_RAM and self.first_value_only and response.frames[0][2] == W_RAM_VALUES:
            response.frames = [response.frames[0][:5]]
        elif sub in (W_VERSION_LOW, W_VERSION_HIGH) and not self.firmware_command_known:
            response.frames = [reply_header + bytes((W_UNKNOWN_COMMAND,))]
        return response

    @staticmethod
    def _unfill_state(frame: bytes) -> bytes:
        if len(frame) >= 15 and frame[0] == 0x20:
            return frame[:4] + bytes((UNFILLED_STATE,)) + frame[5:]
        return frame


@pytest.fixture
async def older(tmp_path: Path) -> AsyncIterator[tuple[Simulator, OlderUnit, Mk3Client]]:
    simulator = Simulator(MultiplusModel(), link=str(tmp_path / "ttyMK3"), time_scale=0.0)
    unit = OlderUnit(simulator.model, unsupported_reads=frozenset({RamVar.STATE_OF_CHARGE}))
    simulator.device = unit
    async with simulator:
        client = Mk3Client(simulator.url)
        await client.connect()
        try:
            yield simulator, unit, client
        finally:
            await client.close()


def _ram_reads(sim: Simulator) -> list[list[int]]:
    """Id lists of the 0x30 reads the host sent."""
    return [list(p[3:]) for p in sim.received if len(p) > 2 and p[1] in W_FAMILY and p[2] == W_READ_RAM]


async def test_short_multi_id_reads_fall_back_to_one_id_per_read(
    older: tuple[Simulator, OlderUnit, Mk3Client],
) -> None:
    sim, unit, client = older
    ids = [RamVar.INVERTER_POWER, RamVar.INVERTER_POWER_2, RamVar.OUTPUT_POWER]
    await client.discover_scales(ids)
    sim.clear_received()
    values = await client.read_ram(ids)
    assert _ram_reads(sim) == [ids, ids[1:2], ids[2:3]]  # the first value came with the multi read
    unit.first_value_only = False
    expected = await client.read_ram(ids)
    assert values == pytest.approx(expected)
    assert all(value is not None for value in values.values())
    # Remembered for this connection: later reads go one by one from the start.
    sim.clear_received()
    await client.read_ram(ids)
    assert _ram_reads(sim) == [[var_id] for var_id in ids]


async def test_variable_unsupported_on_read_is_none_and_the_rest_still_read(
    older: tuple[Simulator, OlderUnit, Mk3Client],
) -> None:
    sim, unit, client = older
    unit.first_value_only = False
    ids = [RamVar.BATTERY_VOLTAGE, RamVar.STATE_OF_CHARGE]
    await client.discover_scales(ids)
    sim.clear_received()
    started = time.monotonic()
    values = await client.read_ram(ids)
    assert values[RamVar.STATE_OF_CHARGE] is None
    assert values[RamVar.BATTERY_VOLTAGE] == pytest.approx(sim.model.flows().battery_voltage, abs=0.01)
    assert _ram_reads(sim) == [ids, ids[:1], ids[1:]]
    assert time.monotonic() - started < 0.4  # three answers, no timeout waited out


async def test_unknown_command_fails_at_once_not_after_a_timeout(
    older: tuple[Simulator, OlderUnit, Mk3Client],
) -> None:
    sim, _unit, client = older
    await client.get_version()
    sim.clear_received()
    started = time.monotonic()
    with pytest.raises(UnsupportedError):
        await client.get_firmware_version()
    assert time.monotonic() - started < 0.3  # the request timeout is 0.5 s
    firmware_requests = [p for p in sim.received if p[1:2] in (b"X", b"Y", b"Z")]
    assert [p[2:] for p in firmware_requests] == [b"\x05\x00\x00"]  # asked once, not retried
    assert client.stats.timeouts == 0


async def test_combined_firmware_reply_needs_no_second_request(tmp_path: Path) -> None:
    """Newer devices send the whole version in the first reply (Victron's velib)."""

    class CombinedVersion(Mk3Device):
        def handle(self, payload: bytes) -> Response:
            response = super().handle(payload)
            if payload[1:2] in (b"X", b"Y", b"Z") and payload[2] == W_VERSION_LOW:
                version = self.model.firmware_version.to_bytes(4, "little")
                response.frames = [payload[:2] + b"\x82" + version + b"\x07\x01"]
            return response

    simulator = Simulator(MultiplusModel(), link=str(tmp_path / "ttyMK3"), time_scale=0.0)
    simulator.device = CombinedVersion(simulator.model)
    async with simulator:
        client = Mk3Client(simulator.url)
        await client.connect()
        try:
            assert await client.get_firmware_version() == simulator.model.firmware_version
        finally:
            await client.close()
    assert [p[2] for p in simulator.received if p[1:2] in (b"X", b"Y", b"Z")] == [W_VERSION_LOW]


async def test_unfilled_state_byte_keeps_the_ac_values(older: tuple[Simulator, OlderUnit, Mk3Client]) -> None:
    sim, _unit, client = older
    ac = await client.get_ac(1)
    phase = sim.model.flows().phase
    assert ac.device_state is None
    assert ac.device_state_code == UNFILLED_STATE
    assert ac.mains_voltage == pytest.approx(phase.mains_voltage, abs=0.01)
    assert ac.inverter_voltage == pytest.approx(phase.output_voltage, abs=0.01)
    assert ac.mains_current == pytest.approx(phase.mains_current, abs=0.02)


# ---- LED status appended to frames (length byte top bit) ---------------------------------


@pytest.fixture
async def bare_pty() -> AsyncIterator[tuple[int, str]]:
    """A pty pair: the test writes raw bytes on the master, the client opens the slave."""
    master, slave = os.openpty()
    try:
        yield master, os.ttyname(slave)
    finally:
        os.close(master)
        os.close(slave)


async def _until(condition: Callable[[], bool], timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_led_appended_frames_reach_the_client(bare_pty: tuple[int, str]) -> None:
    master, path = bare_pty
    client = Mk3Client(path)
    await client.connect()
    try:
        assert client.appended_leds is None
        before = time.monotonic()
        # The unsolicited version frame, once with LEDs (mains on, float blinking) appended.
        version = bytes.fromhex("FF 56 28 DB 11 00 42")
        os.write(master, encode_frame(version, leds=(0x01, 0x08)))
        await _until(lambda: client.appended_leds is not None)
        assert client.appended_leds == LedStatus(Led.MAINS, Led.FLOAT)
        assert client.appended_leds_at is not None
        assert client.appended_leds_at >= before
        assert client.version is not None
        assert client.version.version == 1170216  # the payload went on as usual
        # The newest pair wins; plain frames in between leave it alone.
        os.write(master, encode_frame(version) + encode_frame(version, leds=(0x10, 0x60)))
        await _until(lambda: client.appended_leds == LedStatus(Led.INVERTER, Led.OVERLOAD | Led.LOW_BATTERY))
        assert client.decoder_stats.led_frames == 2
        assert client.decoder_stats.bad_checksums == 0
    finally:
        await client.close()


async def test_a_request_answered_by_an_led_appended_reply(bare_pty: tuple[int, str]) -> None:
    """An interface left in LED-appending mode sends nothing else: replies carry LEDs too."""
    master, path = bare_pty
    client = Mk3Client(path)
    await client.connect()
    try:
        leds = asyncio.ensure_future(client.get_leds())
        await _until(lambda: client.stats.bytes_sent > 0)
        os.read(master, 64)  # the L request
        os.write(master, encode_frame(b"\xffL\x05\x08\x00\x00", leds=(0x05, 0x08)))
        assert await asyncio.wait_for(leds, 1.0) == LedStatus(Led.MAINS | Led.BULK, Led.FLOAT)
        assert client.appended_leds == LedStatus(Led.MAINS | Led.BULK, Led.FLOAT)
    finally:
        await client.close()

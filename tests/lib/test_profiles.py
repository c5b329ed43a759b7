"""Device profiles, a realistic bad line and USB-latency chunking, checked byte by byte over a pty.

Only raw frames are used here (``frame.py`` and hand decoding per protocol.md), never the client,
so these tests hold whatever the client does with the quirks.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
from pathlib import Path
from typing import Any

import pytest

from custom_components.victron_mk3.vebus_mk3.cli import SIMULATOR_PROFILES, build_parser
from custom_components.victron_mk3.vebus_mk3.const import DeviceState, RamVar, SwitchState
from custom_components.victron_mk3.vebus_mk3.frame import FrameDecoder, encode_frame
from custom_components.victron_mk3.vebus_mk3.simulator import (
    PROFILES,
    DeviceQuirks,
    MultiplusModel,
    Simulator,
    SimulatorThread,
    make_model,
    run_simulator,
)
from tests.lib.test_simulator import Client, connect, parse_info, reply_to

QUIET = 1000.0  # version interval that keeps unsolicited frames out of a test


@contextlib.asynccontextmanager
async def talking_to(tmp_path: Path, **options: Any) -> AsyncIterator[tuple[Simulator, Client]]:
    """A simulator (frozen physics, no unsolicited frames unless asked) and a raw client."""
    options = {"time_scale": 0, "version_interval": QUIET, **options}
    async with Simulator(link=str(tmp_path / "tty"), **options) as sim:
        client = await connect(sim.url)
        try:
            yield sim, client
        finally:
            await client.close()


async def no_reply(client: Client, request: bytes, duration: float = 0.3) -> bool:
    client.send(request)
    return await client.none(reply_to(request), duration) == []


# --- registry ---------------------------------------------------------------------------------


def test_profiles_build_fresh_models() -> None:
    assert set(SIMULATOR_PROFILES) == set(PROFILES)  # cli choices cannot drift from the registry
    for name, profile in PROFILES.items():
        first, second = profile.make_model(), make_model(name)
        assert first is not second
        assert first.quirks == second.quirks
        assert profile.description
    assert make_model("multiplus2_mk3").quirks == DeviceQuirks()  # the baseline is unchanged
    with pytest.raises(ValueError, match="unknown profile"):
        make_model("multiplus_99")
    with pytest.raises(ValueError, match="not both"):
        Simulator(MultiplusModel(), profile="led_append")


def test_mk2_unit_is_a_24_volt_3000_va_unit() -> None:
    model = make_model("multiplus_24_mk2")
    for soc in (0.0, 0.5, 1.0):
        assert 21.0 < model.ocv(soc) < 28.0
    model.soc = 0.3
    flows = model.flows()
    assert flows.state == DeviceState.CHARGE
    assert 24.0 < flows.battery_voltage <= model.absorption_voltage
    # The model's charger aims at its power at the absorption voltage, so at a lower battery
    # voltage the current runs a little over the rating (as on the 48 V profile).
    assert 0.9 * model.max_charge_current < flows.battery_current < 1.15 * model.max_charge_current
    model.ac_input_present = False
    model.load_w = 2000.0
    inverting = model.flows()
    # Twice the current of the 48 V unit for the same power.
    assert inverting.battery_current < -2000 / 27
    assert model.current_limit_max == 16.0


# --- MultiPlus 24/3000 behind an MK2 ------------------------------------------------------------


@pytest.fixture
async def mk2(tmp_path: Path) -> AsyncIterator[tuple[Simulator, Client]]:
    async with talking_to(tmp_path, profile="multiplus_24_mk2") as pair:
        yield pair


async def test_mk2_version_frame(mk2: tuple[Simulator, Client]) -> None:
    sim, client = mk2
    reply = await client.ask(b"\xffV")
    assert int.from_bytes(reply[2:6], "little") == sim.model.interface_version == 1130152


async def test_mk2_ac_state_byte_unfilled_but_values_right(mk2: tuple[Simulator, Client]) -> None:
    sim, client = mk2
    flows = sim.model.flows()
    ac = await client.ask(b"\xffF\x01")
    assert ac[4] == 0xB7
    assert ac[5] == 0x08  # still an L1 AC frame
    assert int.from_bytes(ac[6:8], "little") / 100 == pytest.approx(flows.phase.mains_voltage)
    assert int.from_bytes(ac[8:10], "little", signed=True) / 100 == pytest.approx(
        flows.phase.mains_current, abs=0.006
    )
    dc = await client.ask(b"\xffF\x00")
    assert dc[4] == DeviceState.CHARGE  # only the AC frames were seen unfilled
    assert 24.0 < int.from_bytes(dc[6:8], "little") / 100 < 29.0  # a 24 V bank


async def test_mk2_has_no_h_command(mk2: tuple[Simulator, Client]) -> None:
    _, client = mk2
    assert await no_reply(client, b"\xffH")
    assert await no_reply(client, b"\xffH\x07")
    config = await client.ask(b"\xffF\x05")  # and the interface is not stuck
    assert int.from_bytes(config[8:10], "little") == 160  # 16 A maximum


async def test_mk2_firmware_request_needs_its_arguments(mk2: tuple[Simulator, Client]) -> None:
    sim, client = mk2
    assert await no_reply(client, b"\xffX\x05")
    assert await no_reply(client, b"\xffY\x06")
    low = await client.ask(b"\xffX\x05\x00\x00")
    high = await client.ask(b"\xffY\x06\x00\x00")
    assert low[2] == 0x82
    assert high[2] == 0x83
    version = int.from_bytes(low[3:5], "little") | int.from_bytes(high[3:5], "little") << 16
    assert version == sim.model.firmware_version


async def test_mk3_answers_the_firmware_request_either_way(tmp_path: Path) -> None:
    async with talking_to(tmp_path) as (sim, client):
        bare = await client.ask(b"\xffX\x05")
        with_args = await client.ask(b"\xffY\x05\x00\x00")
        assert (
            bare[2:]
            == with_args[2:]
            == bytes((0x82, *(sim.model.firmware_version & 0xFFFF).to_bytes(2, "little")))
        )


async def test_mk2_short_scale_info(mk2: tuple[Simulator, Client]) -> None:
    _, client = mk2
    battery = await client.ask(b"\xffX\x36\x04\x00")
    assert battery == b"\xffX\x8e" + (0x8000 - 100).to_bytes(2, "little")  # 5 bytes, no 8F part
    # A variable with an offset keeps the long form (guess: the short form cannot carry it).
    period = parse_info((await client.ask(b"\xffY\x36\x07\x00"))[2:])
    assert period.offset == 256


async def test_mk2_mains_current_declared_unsigned_sent_negative(mk2: tuple[Simulator, Client]) -> None:
    sim, client = mk2
    sim.model.feed_in_w = 1170.0  # 1170 W out against a 250 W load: 920 W back into the grid
    expected = sim.model.flows().phase.mains_current
    assert expected == pytest.approx(-4.0)
    info = await client.ask(b"\xffX\x36\x01\x00")
    scale_word = int.from_bytes(info[3:5], "little")
    assert scale_word < 0x8000  # declared unsigned…
    read = await client.ask(b"\xffY\x30\x01")
    assert read[2] == 0x85
    raw = int.from_bytes(read[3:5], "little")
    assert raw >= 0x8000  # …yet the top bit is set
    assert raw == -400 & 0xFFFF
    ac = await client.ask(b"\xffF\x01")
    assert int.from_bytes(ac[8:10], "little") == -400 & 0xFFFF


async def test_mk2_multi_id_read_answers_the_first_value_only(mk2: tuple[Simulator, Client]) -> None:
    sim, client = mk2
    reply = await client.ask(b"\xffX\x30\x04\x00\x05")
    assert len(reply) == 5
    assert reply[2] == 0x85
    volts = sim.model.flows().battery_voltage
    assert int.from_bytes(reply[3:5], "little") / 100 == pytest.approx(volts, abs=0.006)


@pytest.mark.parametrize("var_id", [RamVar.STATE_OF_CHARGE, *range(RamVar.INVERTER_POWER, 17)])
async def test_mk2_missing_variables_answer_0x90(mk2: tuple[Simulator, Client], var_id: int) -> None:
    _, client = mk2
    assert await client.ask(bytes((0xFF, ord("X"), 0x36, var_id, 0))) == b"\xffX\x90"
    assert await client.ask(bytes((0xFF, ord("Y"), 0x30, var_id))) == b"\xffY\x90"
    # The rest still answers.
    assert (await client.ask(b"\xffZ\x30\x00"))[2] == 0x85


# --- MK3 left in LED-status-appended mode -------------------------------------------------------


def split_led_frames(stream: bytes) -> list[tuple[bytes, bytes]]:
    """(payload, LED bytes) of each LED-appended frame in ``stream``; asserts the framing."""
    frames = []
    while stream:
        length_byte = stream[0]
        assert length_byte & 0x80, stream.hex()
        length = length_byte & 0x7F
        frame, stream = stream[: length + 4], stream[length + 4 :]
        assert len(frame) == length + 4
        assert sum(frame) & 0xFF == 0  # the checksum covers everything, length byte included
        frames.append((frame[1 : length + 1], frame[length + 1 : length + 3]))
    return frames


async def wait_for_bytes(client: Client, count: int, within: float = 2.0) -> None:
    async with asyncio.timeout(within):
        while len(client.raw) < count:
            await asyncio.sleep(0.01)


async def test_led_appended_framing(tmp_path: Path) -> None:
    async with talking_to(tmp_path, profile="led_append", version_interval=0.2) as (sim, client):
        flows = sim.model.flows()
        leds = bytes((int(flows.leds_on), int(flows.leds_blink)))
        assert leds != b"\x00\x00"
        await wait_for_bytes(client, 11)  # one unsolicited version frame: 7 + 4 bytes
        client.send(b"\xffF\x00")
        await wait_for_bytes(client, 11 + 19)
        await asyncio.sleep(0.05)
        sim.version_interval = QUIET
        frames = split_led_frames(bytes(client.raw))
        payloads = [payload for payload, _ in frames]
        assert client.log == payloads  # the library's decoder takes LED-appended frames too
        assert payloads[0] == b"\xffV" + (1170216).to_bytes(4, "little") + b"\x42"
        assert any(p[0] == 0x20 and p[5] == 0x0C for p in payloads)
        assert {led for _, led in frames} == {leds}
        # Guess: an S frame without the LED flag switches the mode off, its own reply included.
        client.raw.clear()
        client.decoder = FrameDecoder()  # forget the partial "frames" it saw in the LED bytes
        client.send(b"\xffS\x00\x00\x00\x01\x90")
        assert await client.wait(reply_to(b"\xffS")) == b"\xffS"
        assert sim.model.switch_state == SwitchState.ON
        assert not sim.model.led_status_appended
        assert client.raw == encode_frame(b"\xffS")


async def test_s_flag_turns_led_status_on(tmp_path: Path) -> None:
    async with talking_to(tmp_path) as (sim, client):
        client.send(b"\xffS\x00\x00\x00\x01\x92")  # do not forward + LED status (velib flag 0x02)
        await wait_for_bytes(client, 6)
        await asyncio.sleep(0.05)
        flows = sim.model.flows()
        leds = bytes((int(flows.leds_on), int(flows.leds_blink)))
        assert split_led_frames(bytes(client.raw)) == [(b"\xffS", leds)]
        assert sim.model.led_status_appended
        assert sim.model.switch_state == SwitchState.ON


# --- S frames flagged "do not forward" ----------------------------------------------------------


async def test_do_not_forward_s_changes_nothing_by_default(tmp_path: Path) -> None:
    async with talking_to(tmp_path) as (sim, client):
        before = (sim.model.switch_state, sim.model.current_limit)
        for frame in (b"\xffS\x00\x00\x00\x01\x90\x00\x01", b"\xffS\x01\x64\x00\x01\x90"):
            assert await client.ask(frame) == b"\xffS"
        assert (sim.model.switch_state, sim.model.current_limit) == before
        assert await client.ask(b"\xffS\x01\x64\x00\x01\x80") == b"\xffS"  # a normal S applies
        assert (sim.model.switch_state, sim.model.current_limit) == (SwitchState.CHARGER_ONLY, 10.0)


async def test_firmware_ignoring_do_not_forward_applies_valid_state(tmp_path: Path) -> None:
    model = MultiplusModel(quirks=DeviceQuirks(applies_do_not_forward_s=True))
    async with talking_to(tmp_path, model=model) as (sim, client):
        await client.ask(b"\xffS\x00\x00\x00\x01\x90\x00\x01")  # state 0: still nothing
        assert (sim.model.switch_state, sim.model.current_limit) == (SwitchState.ON, 16.0)
        await client.ask(b"\xffS\x02\x78\x00\x01\x90\x00\x01")  # a valid state: applied
        assert (sim.model.switch_state, sim.model.current_limit) == (SwitchState.INVERTER_ONLY, 12.0)


async def test_three_phase_profile(tmp_path: Path) -> None:
    async with talking_to(tmp_path, profile="three_phase") as (_, client):
        assert (await client.ask(b"\xffF\x03"))[5] == 0x06
        assert await no_reply(client, b"\xffF\x04")


# --- entry points -------------------------------------------------------------------------------


def test_thread_runner_takes_a_profile(tmp_path: Path) -> None:
    with SimulatorThread(link=str(tmp_path / "tty"), profile="multiplus_24_mk2", time_scale=0) as remote:
        assert remote.model.quirks.ac_info_state_byte == 0xB7
        assert remote.call(lambda sim: sim.device.handle(b"\xffH").frames) == []


async def test_cli_simulate_profile(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["simulate", "--profile", "led_append", "--link", "x"])
    assert args.profile == "led_append"
    defaults = build_parser().parse_args(["simulate"])
    assert (defaults.profile, defaults.usb_latency) == ("multiplus2_mk3", None)
    assert build_parser().parse_args(["simulate", "--paced", "--usb-latency", "0.016"]).usb_latency == 0.016
    link = tmp_path / "ttyLed"
    task = asyncio.create_task(run_simulator(link=str(link), profile="led_append"))
    try:
        async with asyncio.timeout(2):
            while not link.exists():
                await asyncio.sleep(0.02)
        client = await connect(str(link))
        try:
            client.send(b"\xffV")
            await wait_for_bytes(client, 11)
            assert split_led_frames(bytes(client.raw[:11]))[0][0][:2] == b"\xffV"
        finally:
            await client.close()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert "led_append" in capsys.readouterr().out

"""The simulated MK3 + MultiPlus II, met over real ptys and TCP exactly as a client would.

Values are decoded here with the rules of protocol.md (not with the simulator's own encoder), so
every test checks that what travels on the wire means what the model says.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
import contextlib
from dataclasses import dataclass
import os
from pathlib import Path
import time

import pytest
import serialx

from custom_components.victron_mk3.vebus_mk3.const import DeviceState, Led, RamVar, SwitchState
from custom_components.victron_mk3.vebus_mk3.frame import FrameDecoder, encode_frame
from custom_components.victron_mk3.vebus_mk3.simulator import (
    S_INIT_VARIANT,
    ChargeStage,
    FrontSwitch,
    MultiplusModel,
    Simulator,
    SimulatorThread,
    run_simulator,
)
from custom_components.victron_mk3.vebus_mk3.simulator.model import ocv

Match = Callable[[bytes], bool]
REAL_VERSION_FRAME = bytes.fromhex("07FF5628DB1100424E")


# --- protocol.md decoding, written independently of the simulator --------------------------


@dataclass(frozen=True)
class VarInfo:
    scale: float
    offset: int
    signed: bool
    supported: bool

    @property
    def bit(self) -> int | None:
        return int(abs(self.scale)) - 1 if self.offset == -0x8000 else None

    def value(self, raw: bytes, *, signed: bool | None = None) -> float:
        number = int.from_bytes(raw, "little", signed=self.signed if signed is None else signed)
        if self.bit is not None:
            return float((number >> self.bit) & 1)
        return self.scale * (number + self.offset)


def parse_info(data: bytes) -> VarInfo:
    """``8E s_lo s_hi 8F o_lo o_hi`` → scale/offset per the protocol.md rules."""
    assert data[0] == 0x8E
    assert data[3] == 0x8F
    s = int.from_bytes(data[1:3], "little")
    offset = int.from_bytes(data[4:6], "little", signed=True)
    if s in (0, 0x8000):
        return VarInfo(0.0, 0, False, False)
    signed = s >= 0x8000
    if signed:
        s = 0x10000 - s
    scale = 1 / (0x8000 - s) if s >= 0x4000 else float(s)
    return VarInfo(scale, offset, signed, True)


def reply_to(request: bytes) -> Match:
    """What answers ``request``: the echoed letter, or the info/config frame asked for."""
    letter = request[1]
    if letter == ord("F"):
        kind = request[2]
        if kind == 0:
            return lambda p: p[0] == 0x20 and p[5] == 0x0C
        if kind == 5:
            return lambda p: p[0] == 0x41
        return lambda p: p[0] == 0x20 and 0x05 <= p[5] <= 0x0B
    return lambda p: p[:2] == bytes((0xFF, letter))


def is_version(payload: bytes) -> bool:
    return payload[:2] == b"\xffV"


class Client(asyncio.Protocol):
    """A frame-level client on a serialx transport (pty path or socket:// URL)."""

    def __init__(self) -> None:
        self.decoder = FrameDecoder()
        self.frames: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        self.raw = bytearray()
        self.log: list[bytes] = []  # every decoded frame
        self.lost = asyncio.Event()
        self.transport: asyncio.WriteTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.raw += data
        now = time.monotonic()
        for payload in self.decoder.feed(data):
            self.log.append(payload)
            self.frames.put_nowait((now, payload))

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.set()

    def send(self, payload: bytes) -> None:
        assert self.transport is not None
        self.transport.write(encode_frame(payload))

    async def wait(self, match: Match, within: float = 1.0) -> bytes:
        async with asyncio.timeout(within):
            while True:
                _, payload = await self.frames.get()
                if match(payload):
                    return payload

    async def ask(self, request: bytes, within: float = 1.0) -> bytes:
        self.send(request)
        return await self.wait(reply_to(request), within)

    async def none(self, match: Match, duration: float) -> list[bytes]:
        """Frames matching ``match`` seen within ``duration`` (expected: none)."""
        seen: list[bytes] = []
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(duration):
                while True:
                    _, payload = await self.frames.get()
                    if match(payload):
                        seen.append(payload)
        return seen

    async def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            with contextlib.suppress(Exception):
                await self.transport.wait_closed()  # type: ignore[attr-defined]


async def connect(url: str) -> Client:
    client = Client()
    await serialx.create_serial_connection(asyncio.get_running_loop(), lambda: client, url, baudrate=2400)
    return client


@pytest.fixture
async def sim(tmp_path: Path) -> AsyncIterator[Simulator]:
    """Frozen physics (time_scale 0) so replies can be compared with the model exactly."""
    async with Simulator(link=str(tmp_path / "ttyMK3"), tcp_port=0, time_scale=0, sleep_delay=0.3) as s:
        yield s


@pytest.fixture
async def client(sim: Simulator) -> AsyncIterator[Client]:
    c = await connect(sim.url)
    yield c
    await c.close()


async def read_var(client: Client, var_id: int) -> tuple[VarInfo, bytes]:
    info = parse_info((await client.ask(bytes((0xFF, ord("X"), 0x36, var_id, 0))))[2:])
    reply = await client.ask(bytes((0xFF, ord("Y"), 0x30, var_id)))
    assert reply[2] == 0x85
    return info, reply[3:5]


# --- replies and values ----------------------------------------------------------------------


async def test_version_reply_is_the_real_capture(sim: Simulator, client: Client) -> None:
    client.send(b"\xffV")
    await client.wait(is_version)
    assert REAL_VERSION_FRAME in client.raw


def expected_values(model: MultiplusModel) -> dict[int, float]:
    f = model.flows()
    p = f.phase
    return {
        RamVar.MAINS_VOLTAGE: p.mains_voltage,
        RamVar.MAINS_CURRENT: p.mains_current,
        RamVar.INVERTER_VOLTAGE: p.output_voltage,
        RamVar.INVERTER_CURRENT: p.inverter_current,
        RamVar.BATTERY_VOLTAGE: f.battery_voltage,
        RamVar.BATTERY_CURRENT: f.battery_current,
        RamVar.BATTERY_RIPPLE: f.battery_ripple,
        RamVar.INVERTER_PERIOD: 10 / f.inverter_frequency,
        RamVar.MAINS_PERIOD: 10 / p.mains_frequency if p.mains_frequency else 0.0,
        RamVar.AC_LOAD_CURRENT: p.load_current,
        RamVar.IGNORE_AC_INPUT: float(f.ignoring_ac_input),
        RamVar.MULTI_FUNCTIONAL_RELAY: float(model.relay_on),
        RamVar.STATE_OF_CHARGE: model.soc,
        RamVar.INVERTER_POWER: p.inverter_power,
        RamVar.INVERTER_POWER_2: -p.input_power,  # AC input power = -(var 15)
        RamVar.OUTPUT_POWER: p.output_power,
    }


SCENARIOS: dict[str, dict[str, object]] = {
    "charging": {},
    "inverting": {"ac_input_present": False, "load_w": 1150.0, "soc": 0.6, "relay_on": True},
    "power_assist": {"load_w": 5200.0, "current_limit": 10.0},
    "inverter_only": {"switch_state": SwitchState.INVERTER_ONLY, "load_w": 800.0},
    "absorption": {"soc": 0.93, "charge_stage": ChargeStage.ABSORPTION, "ac_input_frequency": 59.7},
}


@pytest.mark.parametrize("scenario", SCENARIOS)
async def test_ram_variables_round_trip(sim: Simulator, client: Client, scenario: str) -> None:
    for name, value in SCENARIOS[scenario].items():
        setattr(sim.model, name, value)
    for var_id, expected in expected_values(sim.model).items():
        info, raw = await read_var(client, var_id)
        assert info.supported, var_id
        signed = True if var_id == RamVar.INVERTER_CURRENT else None  # the documented quirk
        decoded = info.value(raw, signed=signed)
        step = 1.0 if info.bit is not None else abs(info.scale)
        assert abs(decoded - expected) <= step / 2 + 1e-9, (scenario, var_id, decoded, expected)


async def test_scales_are_the_measured_ones(sim: Simulator, client: Client) -> None:
    infos = {v: parse_info((await client.ask(bytes((0xFF, 0x58, 0x36, v, 0))))[2:]) for v in range(17)}
    assert infos[RamVar.BATTERY_VOLTAGE] == VarInfo(0.01, 0, False, True)
    assert infos[RamVar.MAINS_CURRENT] == VarInfo(0.01, 0, True, True)
    assert infos[RamVar.AC_LOAD_CURRENT] == VarInfo(0.01, 0, True, True)
    assert infos[RamVar.BATTERY_CURRENT] == VarInfo(0.1, 0, True, True)
    assert infos[RamVar.INVERTER_PERIOD] == VarInfo(1 / 1953, 256, False, True)
    assert infos[RamVar.MAINS_PERIOD] == VarInfo(1 / 977, 0, False, True)
    assert infos[RamVar.STATE_OF_CHARGE] == VarInfo(1 / 200, 0, False, True)
    assert infos[RamVar.OUTPUT_POWER] == VarInfo(1.0, 0, True, True)
    # Quirk: inverter current declared unsigned…
    assert infos[RamVar.INVERTER_CURRENT] == VarInfo(0.01, 0, False, True)
    assert infos[RamVar.IGNORE_AC_INPUT].bit == 0
    assert not infos[RamVar.VIRTUAL_SWITCH].supported


async def test_inverter_current_negative_while_inverting(sim: Simulator, client: Client) -> None:
    sim.model.ac_input_present = False
    sim.model.load_w = 1150.0  # 5.00 A at 230 V
    info, raw = await read_var(client, RamVar.INVERTER_CURRENT)
    assert raw == (-500 & 0xFFFF).to_bytes(2, "little")  # …but sent as two's complement
    assert info.value(raw) > 600  # what a client trusting the info would see
    assert info.value(raw, signed=True) == pytest.approx(-5.0)


async def test_info_frames_decode_to_the_model(sim: Simulator, client: Client) -> None:
    infos = {v: (await read_var(client, v))[0] for v in range(9)}
    for ac_present in (True, False):
        sim.model.ac_input_present = ac_present
        flows = sim.model.flows()
        dc = await client.ask(b"\xffF\x00")
        assert dc[:6] == bytes((0x20, 1, 1, dc[3], flows.state, 0x0C))
        assert infos[4].value(dc[6:8]) == pytest.approx(flows.battery_voltage, abs=0.005)
        battery = infos[5].value(dc[11:14]) - infos[5].value(dc[8:11])
        assert battery == pytest.approx(flows.battery_current, abs=0.05)
        assert 10 / infos[7].value(dc[14:15]) == pytest.approx(50.0, abs=0.07)
        ac = await client.ask(b"\xffF\x01")
        assert ac[4:6] == bytes((flows.state, 0x08))  # L1 of a single-phase system
        p = flows.phase
        assert infos[0].value(ac[6:8]) * ac[1] == pytest.approx(p.mains_voltage, abs=0.005)
        assert infos[1].value(ac[8:10]) * ac[1] == pytest.approx(p.mains_current, abs=0.005)
        assert infos[2].value(ac[10:12]) == pytest.approx(p.output_voltage, abs=0.005)
        assert infos[3].value(ac[12:14], signed=True) * ac[2] == pytest.approx(p.inverter_current, abs=0.005)
        if ac_present:
            assert 10 / infos[8].value(ac[14:15]) == pytest.approx(50.0, abs=0.15)
        else:
            assert ac[14] == 0  # no AC input: period 0 → 0 Hz
            assert dc[4] == DeviceState.INVERT_FULL


async def test_leds_follow_the_model(sim: Simulator, client: Client) -> None:
    reply = await client.ask(b"\xffL")
    assert len(reply) == 6  # on, blink + two bytes of newer firmware
    assert reply[2:4] == bytes((Led.MAINS | Led.BULK, 0))
    sim.model.charge_stage = ChargeStage.FLOAT
    assert (await client.ask(b"\xffL"))[2] == Led.MAINS | Led.FLOAT
    sim.model.ac_input_present = False
    sim.model.soc = 0.02
    sim.model.load_w = 2000
    reply = await client.ask(b"\xffL")
    assert reply[2] == Led.INVERTER | Led.LOW_BATTERY
    assert reply[3] == Led.LOW_BATTERY  # blinking: warning, not shut down
    sim.model.load_w = 4500
    assert (await client.ask(b"\xffL"))[2] & Led.OVERLOAD


async def test_config_frame_and_switch_register(sim: Simulator, client: Client) -> None:
    config = await client.ask(b"\xffF\x05")
    assert len(config) == 13
    assert (config[5] >> 4) & 7 == 1  # one AC input
    assert config[5] & 0x80  # panel detect from the default interface flags
    assert int.from_bytes(config[6:8], "little") == 36
    assert int.from_bytes(config[8:10], "little") == 500
    assert int.from_bytes(config[10:12], "little") == 160
    assert config[12] == 0x77  # remote on, front up, resulting charge+invert, onboard remote
    sim.model.front_switch = FrontSwitch.CHARGER_ONLY
    assert (await client.ask(b"\xffF\x05"))[12] == 0x40 | 0x10 | 0x08 | 0x02 | 0x01
    sim.model.front_switch = FrontSwitch.ON
    sim.model.switch_state = SwitchState.INVERTER_ONLY
    assert (await client.ask(b"\xffF\x05"))[12] == 0x40 | 0x20 | 0x04 | 0x02


@pytest.mark.parametrize(
    ("raw", "amps"), [(0x8000, 16.0), (0, 3.6), (20, 3.6), (123, 12.3), (9999, 50.0), (500, 50.0)]
)
async def test_state_command_clamps_and_persists(
    sim: Simulator, client: Client, raw: int, amps: float
) -> None:
    reply = await client.ask(bytes((0xFF, ord("S"), 1, raw & 0xFF, raw >> 8, 0x01, 0x80)))
    assert reply == b"\xffS"
    assert sim.model.switch_state == SwitchState.CHARGER_ONLY
    assert sim.model.current_limit == pytest.approx(amps)
    await client.close()
    again = await connect(sim.url)  # a new session sees what the last one set
    try:
        config = await again.ask(b"\xffF\x05")
        assert int.from_bytes(config[10:12], "little") == round(amps * 10)
        assert config[12] & 0x03 == 0x01  # remote charge only
    finally:
        await again.close()


async def test_switched_off_unit_may_ignore_the_first_on(sim: Simulator, client: Client) -> None:
    sim.model.switch_state = SwitchState.OFF
    sim.model.ignore_on_commands = 1
    on = bytes((0xFF, ord("S"), 3, 0xA0, 0, 0x01, 0x80))
    assert await client.ask(on) == b"\xffS"
    assert sim.model.switch_state == SwitchState.OFF
    await client.ask(on)
    assert (sim.model.switch_state, sim.model.current_limit) == (SwitchState.ON, 16.0)


async def test_interface_flags_set_and_query(sim: Simulator, client: Client) -> None:
    assert await client.ask(b"\xffH") == b"\xffH\x05"
    assert await client.ask(b"\xffH\x07") == b"\xffH\x07"
    assert await client.ask(b"\xffH") == b"\xffH\x07"
    assert sim.model.interface_flags == 7


async def test_unsupported_variables(sim: Simulator, client: Client) -> None:
    sim.model.battery_monitor = False
    assert (await client.ask(b"\xffX\x36\x0d\x00"))[2:] == bytes.fromhex("8E00008F0000")
    assert (await client.ask(b"\xffY\x30\x0d"))[2:] == b"\x90"
    assert (await client.ask(b"\xffZ\x30\x04\x0d"))[2:] == b"\x90"  # one bad id spoils the read
    assert (await client.ask(b"\xffX\x36\xc8\x00"))[2:] == b"\x90"  # no such variable at all
    sim.model.unsupported_info_as_0x90 = True
    assert (await client.ask(b"\xffX\x36\x0d\x00"))[2:] == b"\x90"
    three = await client.ask(b"\xffY\x30\x00\x04\x05")
    assert three[2] == 0x85
    assert len(three) == 9


async def test_w_replies_are_cut_after_four_bytes(client: Client) -> None:
    assert (await client.ask(b"\xffW\x36\x04\x00"))[2:] == bytes.fromhex("8E9C7F8F")
    assert (await client.ask(b"\xffX\x36\x04\x00"))[2:] == bytes.fromhex("8E9C7F8F0000")
    assert len(await client.ask(b"\xffW\x30\x00\x01\x04")) == 6


async def test_device_state_and_forced_float(sim: Simulator, client: Client) -> None:
    assert (await client.ask(b"\xffZ\x0e\x00\x00"))[2:] == bytes((0x94, DeviceState.CHARGE, ChargeStage.BULK))
    assert (await client.ask(b"\xffZ\x0e\x03\x00"))[2:] == bytes(
        (0x94, DeviceState.CHARGE, ChargeStage.FLOAT)
    )
    sim.model.ac_input_present = False
    assert (await client.ask(b"\xffX\x0e\x00\x00"))[2:4] == bytes((0x94, DeviceState.INVERT_FULL))
    low = await client.ask(b"\xffX\x05")
    high = await client.ask(b"\xffX\x06")
    version = int.from_bytes(low[3:5], "little") | int.from_bytes(high[3:5], "little") << 16
    assert (low[2], high[2], version % 1000) == (0x82, 0x83, 506)


async def test_absent_phases_and_unknown_commands_get_no_reply(client: Client) -> None:
    for request in (b"\xffF\x02", b"\xffF\x03", b"\xffF\x04", b"\xffF\x09", b"\xffQ"):
        client.send(request)
    client.send(b"\xffL")  # handled in order: once L is answered, the others were skipped
    await client.wait(reply_to(b"\xffL"))
    answers = [p for p in client.log if not is_version(p)]
    assert [p[:2] for p in answers] == [b"\xffL"]


async def test_three_phase_system_answers_l2_l3(tmp_path: Path) -> None:
    model = MultiplusModel(phases=3, load_w=3000)
    async with Simulator(model, link=str(tmp_path / "tty"), time_scale=0) as sim:
        client = await connect(sim.url)
        try:
            kinds = [(await client.ask(bytes((0xFF, 0x46, n))))[5] for n in (1, 2, 3)]
            assert kinds == [0x0A, 0x07, 0x06]  # L1 carries 7 + phases; Ln is 9 - n
            client.send(b"\xffF\x04")
            assert await client.none(lambda p: p[0] == 0x20, 0.2) == []
        finally:
            await client.close()


# --- timing, sleep and link behaviour --------------------------------------------------------


async def test_unsolicited_version_once_per_second(sim: Simulator, client: Client) -> None:
    start = sim.versions_sent
    await client.wait(is_version, 1.3)
    first = time.monotonic()
    await client.wait(is_version, 1.5)
    assert 0.8 <= time.monotonic() - first <= 1.3
    assert sim.versions_sent - start == 2


async def test_version_frames_pause_while_busy(sim: Simulator, client: Client) -> None:
    sim.version_interval = sim.busy_window = 0.25
    await client.ask(b"\xffL")
    busy_count = sim.versions_sent
    for _ in range(10):  # a request every 0.1 s keeps the interface busy for a second
        await asyncio.sleep(0.1)
        await client.ask(b"\xffL")
    assert sim.versions_sent == busy_count
    await client.wait(is_version, 0.6)  # idle again: they resume


async def test_sleep_when_off_without_ac_and_wake_on_ac(sim: Simulator, client: Client) -> None:
    sim.version_interval = sim.busy_window = 0.2
    await client.ask(b"\xffH\x01")
    assert await client.ask(bytes((0xFF, ord("S"), 4, 0x00, 0x80, 0x01, 0x80))) == b"\xffS"
    sim.model.ac_input_present = False
    await sim_wait(lambda: sim.asleep, 1.5)
    assert sim.model.interface_flags == 0x05  # the MK3 lost VE.Bus power
    await client.none(lambda p: True, 0.05)  # whatever was already on the wire
    client.send(b"\xffV")
    assert await client.none(lambda p: True, 0.6) == []  # nothing at all, not even versions
    sim.model.ac_input_present = True
    await sim_wait(lambda: not sim.asleep, 0.5)
    assert await client.ask(b"\xffH") == b"\xffH\x05"
    assert sim.model.switch_state == SwitchState.OFF  # remote state persisted


async def test_standby_keeps_it_awake(sim: Simulator, client: Client) -> None:
    await client.ask(b"\xffH\x07")
    await client.ask(bytes((0xFF, ord("S"), 4, 0x00, 0x80, 0x01, 0x80)))
    sim.model.ac_input_present = False
    await asyncio.sleep(0.5)  # sleep_delay is 0.3 s
    assert not sim.asleep
    assert (await client.ask(b"\xffF\x00"))[4] == DeviceState.OFF


async def sim_wait(predicate: Callable[[], bool], within: float) -> None:
    async with asyncio.timeout(within):
        while not predicate():  # simulator state has no event to await
            await asyncio.sleep(0.02)


async def test_reset_mutes_briefly_and_clears_flags(sim: Simulator, client: Client) -> None:
    sim.reset_time = 0.25
    await client.ask(b"\xffH\x03")
    client.send(b"\xffR")
    client.send(b"\xffL")
    assert await client.none(reply_to(b"\xffL"), 0.15) == []
    await asyncio.sleep(0.15)
    assert await client.ask(b"\xffH") == b"\xffH\x05"


async def test_unplug_and_replug_at_the_same_path(sim: Simulator, client: Client) -> None:
    assert sim.pty is not None
    await client.ask(b"\xffV")
    await sim.unplug()
    with pytest.raises(FileNotFoundError):
        os.readlink(sim.url)  # the symlink went with the port
    async with asyncio.timeout(2):
        await client.lost.wait()  # the client sees EOF/EIO
    await sim.replug()
    assert os.readlink(sim.url) == sim.pty.tty_name
    again = await connect(sim.url)
    try:
        assert (await again.ask(b"\xffF\x05"))[0] == 0x41
    finally:
        await again.close()


async def test_exclusive_open_close_reopen(sim: Simulator) -> None:
    for _ in range(4):
        client = await connect(sim.url)  # serialx locks the port exclusively
        try:
            assert await client.ask(b"\xffH") == b"\xffH\x05"
        finally:
            await client.close()


async def test_tcp_and_pty_share_one_device(sim: Simulator, client: Client) -> None:
    assert sim.tcp_url is not None
    assert sim.tcp_url.startswith("socket://127.0.0.1:")
    tcp = await connect(sim.tcp_url)
    try:
        await tcp.ask(bytes((0xFF, ord("S"), 3, 100, 0, 0x01, 0x80)))
        config = await client.ask(b"\xffF\x05")
        assert int.from_bytes(config[10:12], "little") == 100
        assert await client.none(reply_to(b"\xffS"), 0.1) == []  # replies go to the asker only
        assert sim.letters == ["S", "F"]
        assert sim.count("S") == 1
    finally:
        await tcp.close()


async def test_unread_pty_never_blocks(sim: Simulator) -> None:
    assert sim.pty is not None
    for _ in range(12000):  # ~100 kB, far beyond the pty buffer, with nobody reading
        sim.pty.send(b"\xffV\x00\x00\x00\x00\x42")
    await sim_wait(lambda: not sim.pty._queue, 5)  # type: ignore[union-attr]
    client = await connect(sim.url)
    try:
        assert await client.ask(b"\xffH") == b"\xffH\x05"
    finally:
        await client.close()


# --- faults ----------------------------------------------------------------------------------


async def test_noise_is_injected_and_survivable(sim: Simulator, client: Client) -> None:
    sim.faults.noise_probability = 0.05
    answered = 0
    for _ in range(20):
        with contextlib.suppress(TimeoutError):
            await client.ask(b"\xffH", within=0.1)
            answered += 1
    assert client.decoder.stats.skipped_bytes > 0
    assert 5 <= answered < 20


async def test_dropped_and_delayed_replies(sim: Simulator, client: Client) -> None:
    sim.faults.drop_next = 2
    for _ in range(2):
        with pytest.raises(TimeoutError):
            await client.ask(b"\xffH", within=0.15)
    assert await client.ask(b"\xffH") == b"\xffH\x05"
    sim.faults.drop_probability = 1.0
    with pytest.raises(TimeoutError):
        await client.ask(b"\xffH", within=0.15)
    sim.faults.drop_probability = 0.0
    sim.faults.reply_delay = 0.3
    start = time.monotonic()
    await client.ask(b"\xffH")
    assert time.monotonic() - start >= 0.25
    assert sim.replies_dropped == 3


async def test_foreign_frames(sim: Simulator, client: Client) -> None:
    sim.faults.foreign_frame_interval = 0.1
    assert (await client.wait(lambda p: p[0] not in (0xFF, 0x20, 0x41), 0.5))[0] == 0xE4
    assert await client.ask(b"\xffH") == b"\xffH\x05"


async def test_winmon_mode(sim: Simulator, client: Client) -> None:
    sim.model.winmon_mode = True
    sim.version_interval = sim.busy_window = 0.2
    client.send(b"\xffH")
    await client.wait(is_version, 1.0)  # unsolicited frames still arrive…
    assert await client.none(reply_to(b"\xffH"), 0.3) == []  # …but short commands get nothing
    assert await client.ask(b"\xffS" + S_INIT_VARIANT) == b"\xffS"
    assert not sim.model.winmon_mode
    assert sim.model.switch_state == SwitchState.ON  # the init frame changed nothing else
    assert await client.ask(b"\xffH") == b"\xffH\x05"


async def test_paced_timing(tmp_path: Path) -> None:
    async with Simulator(link=str(tmp_path / "tty"), paced=True, time_scale=0) as sim:
        client = await connect(sim.url)
        try:
            start = time.monotonic()
            await client.ask(b"\xffV")
            # 4 bytes in + turnaround + 9 bytes out at 2400 baud ≈ 66 ms
            assert 0.05 <= time.monotonic() - start < 1.0
            start = time.monotonic()
            client.send(b"\xffF\x05")
            client.send(b"\xffL")
            await client.wait(reply_to(b"\xffF\x05"), 3.0)
            config_at = time.monotonic() - start
            await client.wait(reply_to(b"\xffL"), 1.0)
            assert 0.75 <= config_at < 2.5  # F 5 is slow and holds up the L behind it
            assert time.monotonic() - start > config_at
        finally:
            await client.close()


# --- model, thread runner and entry point ---------------------------------------------------


def test_model_physics_plausible() -> None:
    model = MultiplusModel(soc=0.5)
    f = model.flows()
    assert f.state == DeviceState.CHARGE
    assert f.phase.mains_current == pytest.approx(16.0)  # the limit caps the charger
    assert f.battery_current > 0
    # Power balance: AC in = load + bridge; DC = bridge × efficiency = V·I at the battery (OCV)
    assert f.phase.input_power == pytest.approx(f.phase.output_power + f.phase.inverter_power)
    assert ocv(0.5) * f.battery_current == pytest.approx(f.phase.inverter_power * model.charger_efficiency)
    model.advance(3600)
    assert 0.7 < model.soc < 0.9
    for _ in range(20):
        model.advance(600)
    assert model.charge_stage == ChargeStage.FLOAT
    model.ac_input_present = False
    model.load_w = 3000
    f = model.flows()
    assert f.state == DeviceState.INVERT_FULL
    assert f.battery_current < -50  # ≈ 3000 W / 0.94 efficiency / 54 V
    for _ in range(60):
        model.advance(600)
    assert model.low_battery_shutdown
    assert model.flows().state == DeviceState.OFF
    model.ac_input_present = True
    model.load_w = 6000
    model.advance(1)
    assert model.flows().state == DeviceState.CHARGE  # no assist while shut down
    assert model.charge_stage == ChargeStage.BULK  # a new charge starts from the battery's state


def test_configured_charge_stage_survives_start() -> None:
    model = MultiplusModel(soc=0.95, charge_stage=ChargeStage.FLOAT)
    model.advance(1)
    assert model.charge_stage == ChargeStage.FLOAT


async def test_time_scale_advances_the_model(tmp_path: Path) -> None:
    async with Simulator(link=str(tmp_path / "tty"), time_scale=3600) as sim:
        soc = sim.model.soc
        await asyncio.sleep(0.35)
        assert sim.model.soc > soc + 0.05


def test_thread_runner(tmp_path: Path) -> None:
    with SimulatorThread(link=str(tmp_path / "tty"), time_scale=0) as runner:
        assert runner.call(lambda s: s.running)
        with serialx.serial_for_url(runner.url, baudrate=2400) as port:
            port.write(encode_frame(b"\xffS\x02\xc8\x00\x01\x80"))
            decoder, buffer = FrameDecoder(), bytearray(64)
            replies: list[bytes] = []
            deadline = time.monotonic() + 2
            while not replies and time.monotonic() < deadline:
                n = port.readinto(buffer, timeout=0.1)
                replies = [p for p in decoder.feed(bytes(buffer[:n])) if p[:2] == b"\xffS"]
            assert replies == [b"\xffS"]
        assert runner.call(lambda s: (s.model.switch_state, s.model.current_limit)) == (2, 20.0)
        assert runner.call(lambda s: s.count("S")) == 1
        runner.unplug()
        assert not os.path.lexists(runner.url)
        runner.replug()
        assert os.path.lexists(runner.url)
        thread = runner._thread
    assert thread is not None
    assert not thread.is_alive()
    assert not os.path.lexists(tmp_path / "tty")


async def test_run_simulator_entry_point(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    link = tmp_path / "ttyCli"
    task = asyncio.create_task(run_simulator(link=str(link), tcp_port=0, paced=False))
    await sim_wait(link.exists, 2)
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    out = capsys.readouterr().out
    assert str(link) in out
    assert "socket://127.0.0.1:" in out
    assert not link.exists()

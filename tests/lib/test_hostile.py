"""Hostile input over a real pty: the real client and sampler meet garbage on the wire.

The simulated device writes hostile bytes in front of every frame it sends (a raw writer at the
pty master), or injects noise and foreign frames the way ``Faults`` does. Requests must still get
exactly the values the device sent, or fail with a library error; never a wrong value, never an
exception of another kind; every dropped byte and frame must show in the counters.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
import contextlib
from dataclasses import replace
from pathlib import Path
import random
from typing import Any

import pytest

from custom_components.victron_mk3.vebus_mk3 import DeviceStatus, Mk3Client, Mk3Error, requests, uart
from custom_components.victron_mk3.vebus_mk3.const import RamVar
from custom_components.victron_mk3.vebus_mk3.frame import FrameDecoder, encode_frame
from custom_components.victron_mk3.vebus_mk3.messages import is_known_frame
from custom_components.victron_mk3.vebus_mk3.requests import Request
from custom_components.victron_mk3.vebus_mk3.sampler import Sampler
from custom_components.victron_mk3.vebus_mk3.simulator import MultiplusModel, Simulator
from custom_components.victron_mk3.vebus_mk3.simulator.simulator import FOREIGN_FRAME
from custom_components.victron_mk3.vebus_mk3.variables import RamVarInfo

from .hostile import (
    MUTATIONS,
    RAM_RANGES,
    check_plausible,
    collect_samples,
    real_scales,
    reply_key,
    within,
)

Prefix = Callable[[bytes], bytes]
TIME_SCALE = 0.16  # 0.5 s request timeouts become 80 ms, the stall timeout stays below them
READ_VARS = [RamVar.INVERTER_POWER, RamVar.INVERTER_POWER_2, RamVar.OUTPUT_POWER, RamVar.STATE_OF_CHARGE]


@pytest.fixture
def fast_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unpaced replies take a millisecond: the real timeouts would only make lost replies slow.

    Only for tests that accept a lost reply anyway; a late one cannot mislead them (the model
    is frozen, so a late reply carries the same values as the one it would be taken for).
    """
    request = Mk3Client.request

    async def quick(client: Mk3Client, wanted: Request[Any]) -> Any:
        return await request(client, replace(wanted, timeout=wanted.timeout * TIME_SCALE))

    monkeypatch.setattr(Mk3Client, "request", quick)
    monkeypatch.setattr(uart, "STALL_TIMEOUT", uart.STALL_TIMEOUT * TIME_SCALE)


class HostileSimulator(Simulator):
    """Writes ``prefix(frame)`` before every frame; remembers every payload it really sent."""

    def __init__(self, *args: Any, prefix: Prefix | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.prefix = prefix
        self.sent: set[bytes] = set()

    def noisify(self, data: bytes) -> bytes:
        self.sent.add(data[1:-1])
        return (self.prefix(data) if self.prefix else b"") + super().noisify(data)


@contextlib.asynccontextmanager
async def hostile_link(tmp_path: Path, **options: Any) -> AsyncIterator[tuple[HostileSimulator, Mk3Client]]:
    sim = HostileSimulator(MultiplusModel(), link=str(tmp_path / "tty"), time_scale=0.0, **options)
    async with sim:
        client = Mk3Client(sim.url)
        await client.connect()
        try:
            yield sim, client
        finally:
            await client.close()


async def read_everything(client: Mk3Client) -> dict[str, Any]:
    """One of each read the sampler makes, and the version."""
    return {
        "V": await client.get_version(),
        "L": await client.get_leds(),
        "F0": await client.get_dc(),
        "F1": await client.get_ac(1),
        "F5": await client.get_config(),
        "H": await client.get_interface_flags(),
        "RAM read": await client.read_ram(READ_VARS),
        "device state": await client.get_device_state(),
        "firmware version": await client.get_firmware_version(),
    }


def decoded_alone(stream: bytes) -> list[bytes] | None:
    """Payloads a fresh decoder finds in ``stream``; None unless it ends exactly on a frame."""
    decoder = FrameDecoder()
    payloads = decoder.feed(stream)
    return payloads if not decoder.pending else None


class NonAnswers:
    """Prefixes that break framing or are valid frames answering some other request.

    Wrong-letter W replies, info frames of other phases, unknown frame kinds, corrupted copies
    of real frames and noise; drawn until a fresh decoder shows the real frame still comes out
    last and nothing before it answers the same request (a chance checksum match could).
    """

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.samples = [sample.frame for sample in collect_samples(real_scales())]
        self.expected_frames = 0  # valid frames in the prefixes: each must count as unsolicited
        self.expected_unknown = 0

    def other_answer(self, frame: bytes) -> bytes:
        payload = bytearray(frame[1:-1])
        if payload[0] == 0xFF:
            # Not V: an unsolicited version frame is taken as the interface's version, rightly.
            payload[1] = self.rng.choice([c for c in b"LHSAWXYZ" if c != payload[1]])
        elif payload[0] == 0x20:
            payload[5] = self.rng.choice([k for k in (0x05, 0x06, 0x07, 0x08, 0x0C) if k != payload[5]])
        else:
            payload[0] = self.rng.choice((0x20, 0xFF))
        return encode_frame(bytes(payload))

    def part(self, frame: bytes) -> bytes:
        choice = self.rng.randrange(5)
        if choice == 0:
            return self.other_answer(frame)
        if choice == 1:
            return FOREIGN_FRAME if self.rng.random() < 0.5 else encode_frame(b"\x55" + self.rng.randbytes(6))
        if choice == 2:
            return self.rng.randbytes(self.rng.randint(1, 6))
        mutation = MUTATIONS[self.rng.randrange(5)][0]  # flips, truncation, insertion, deletion, replacement
        return mutation(self.rng, self.rng.choice(self.samples), frame)

    def __call__(self, frame: bytes) -> bytes:
        key = reply_key(frame[1:-1])
        while True:
            prefix = b"".join(self.part(frame) for _ in range(self.rng.randint(1, 3)))
            payloads = decoded_alone(prefix + frame)
            if payloads and payloads[-1] == frame[1:-1]:
                others = payloads[:-1]
                if all(reply_key(p) != key for p in others):
                    self.expected_frames += len(others)
                    self.expected_unknown += sum(1 for p in others if not is_known_frame(p))
                    return prefix


async def test_garbage_that_answers_nothing_changes_nothing(tmp_path: Path) -> None:
    """Wrong letters, other phases, unknown kinds, bad checksums before every reply: exact values."""
    async with hostile_link(tmp_path, version_interval=3600) as (sim, client):
        clean = await read_everything(client)
        stats_before = replace(client.stats)
        prefixes = NonAnswers(random.Random(7))
        sim.prefix = prefixes
        # 25 rounds: LED-appended length bytes (0x81..0xA0) make more random prefixes unusable.
        for _ in range(25):
            assert await read_everything(client) == clean
        stats, decoder = client.stats, client.decoder_stats
    assert stats.timeouts == stats.invalid_replies == 0
    assert stats.unsolicited - stats_before.unsolicited == prefixes.expected_frames > 100
    assert stats.unknown_frames - stats_before.unknown_frames == prefixes.expected_unknown > 10
    assert decoder.bad_checksums > 100
    assert decoder.skipped_bytes > 1000


def check_values(values: dict[str, Any], scales: dict[int, RamVarInfo]) -> None:
    letter = ord("X")
    for request in (
        requests.version(),
        requests.leds(),
        requests.dc_info(scales),
        requests.ac_info(1, scales),
        requests.config(),
        requests.interface_flags(),
        requests.device_state(letter),
    ):
        check_plausible(request, values[request.name], scales)
    for var_id, value in values["RAM read"].items():
        if value is not None:
            within(f"RAM variable {var_id}", value, *RAM_RANGES[var_id])
    assert 0 <= values["firmware version"] < 1 << 32


@pytest.mark.usefixtures("fast_timeouts")
async def test_any_garbage_yields_plausible_values_or_a_library_error(tmp_path: Path) -> None:
    """Mangled frames of every kind, checksum-valid garbage too: plausible values or Mk3Error."""
    rng = random.Random(11)
    samples = [sample.frame for sample in collect_samples(real_scales())]
    mutations = [mutation for mutation, _ in MUTATIONS]
    weights = [weight for _, weight in MUTATIONS]

    def garbage(frame: bytes) -> bytes:
        # Mostly the real reply mangled, so the garbage meets the parser of the pending request.
        return rng.choices(mutations, weights)[0](rng, frame, rng.choice(samples))

    answered = failed = 0
    async with hostile_link(tmp_path, prefix=garbage) as (_sim, client):
        for _ in range(12):
            try:
                values = await read_everything(client)
            except Mk3Error:
                failed += 1
                continue
            answered += 1
            check_values(values, client.scales)
        assert client.connected
    assert answered > failed
    assert client.stats.invalid_replies > 0
    assert client.stats.unknown_frames > 0


# ---- end to end: noise and foreign frames under the sampler --------------------------------


def same(status: DeviceStatus, reference: DeviceStatus) -> bool:
    return replace(status, taken_at=0.0, read_at={}) == replace(reference, taken_at=0.0, read_at={})


async def sample_through_noise(tmp_path: Path, cycles: int, **faults: float) -> dict[str, Any]:
    """Run the sampler (restarted after a link fault, as the integration does) under ``faults``."""
    async with hostile_link(tmp_path, seed=5) as (sim, client):
        phantoms: list[bytes] = []  # checksum-valid frames the device never sent that resolved a request
        deliver = client._frame_received

        def recording(payload: bytes) -> None:
            counted = client.stats.invalid_replies + client.stats.unsolicited
            deliver(payload)
            if payload not in sim.sent and client.stats.invalid_replies + client.stats.unsolicited == counted:
                phantoms.append(payload)

        assert client._protocol is not None
        client._protocol._frame_received = recording
        client.retries = 3
        # No floor on the cycle time: an unpaced simulator would otherwise idle most of the run.
        sampler = Sampler(client, [1], slow_interval=0.0, min_cycle=0.0)
        published: list[DeviceStatus] = []
        sampler.add_listener(published.append)
        tasks = [asyncio.create_task(sampler.run())]

        async def until(count: int) -> None:
            while sampler.stats.cycles < count:
                await asyncio.sleep(0.005)
                if tasks[-1].done():
                    # A link fault ends a run; anything else is a bug the test must report.
                    error = tasks[-1].exception()
                    assert isinstance(error, Mk3Error), repr(error)
                    tasks.append(asyncio.create_task(sampler.run()))

        try:
            async with asyncio.timeout(60):
                await until(1)
                reference = published[-1]
                first = len(published)
                for name, value in faults.items():
                    setattr(sim.faults, name, value)
                await until(cycles)
        finally:
            tasks[-1].cancel()
            with contextlib.suppress(asyncio.CancelledError, Mk3Error):
                await tasks[-1]
        flows = sim.model.flows()
    return {
        "reference": reference,
        "flows": flows,
        "statuses": published[first:],
        "wrong": [status for status in published[first:] if not same(status, reference)],
        "phantoms": phantoms,
        "restarts": len(tasks) - 1,
        "stats": client.stats,
        "decoder": client.decoder_stats,
        "scales": client.scales,
    }


def assert_exact(run: dict[str, Any]) -> None:
    reference, flows = run["reference"], run["flows"]
    # The reference itself is the model within the encoding resolution.
    assert reference.dc.voltage == pytest.approx(flows.battery_voltage, abs=0.005)
    assert reference.dc.current == pytest.approx(flows.battery_current, abs=0.05)
    assert reference.ac[1].mains_voltage == pytest.approx(flows.phase.mains_voltage, abs=0.005)
    assert reference.ac[1].inverter_current == pytest.approx(flows.phase.inverter_current, abs=0.005)
    assert reference.ac_output_power == pytest.approx(flows.phase.output_power, abs=0.5)
    assert reference.leds.on == flows.leds_on
    # Every status published under noise equals it, unless the 8-bit checksum itself was fooled
    # (a noise byte equal to the checksum it displaced: about 1 corrupted frame in 256) and
    # the garbage happened to be plausible. Implausible values never get through.
    assert not run["wrong"] or run["phantoms"], run["wrong"][0]
    assert len(run["phantoms"]) <= 3
    assert len(run["statuses"]) >= 20
    scales = run["scales"]
    for status in run["statuses"]:
        check_plausible(requests.dc_info(scales), status.dc, scales)
        check_plausible(requests.ac_info(1, scales), status.ac[1], scales)
        check_plausible(requests.config(), status.config, scales)
        for var_id, value in status.ram.items():
            if value is not None:
                within(f"RAM variable {var_id}", value, *RAM_RANGES[var_id])


@pytest.mark.usefixtures("fast_timeouts")
async def test_one_percent_noise_under_the_sampler(tmp_path: Path) -> None:
    run = await sample_through_noise(tmp_path, 30, noise_probability=0.01)
    assert_exact(run)
    assert run["decoder"].skipped_bytes > 20
    assert run["decoder"].bad_checksums > 5


@pytest.mark.usefixtures("fast_timeouts")
async def test_noise_and_foreign_frames_under_the_sampler(tmp_path: Path) -> None:
    run = await sample_through_noise(tmp_path, 30, noise_probability=0.01, foreign_frame_interval=0.02)
    assert_exact(run)
    assert run["stats"].unknown_frames > 10
    assert run["decoder"].bad_checksums > 5

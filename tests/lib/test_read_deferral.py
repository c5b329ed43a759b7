"""Reading a reply in one read: far fewer wake-ups on byte-wise and chunked ports, same frames."""

from __future__ import annotations

from pathlib import Path

import pytest

from custom_components.victron_mk3.vebus_mk3 import Mk3Client
from custom_components.victron_mk3.vebus_mk3.simulator import FTDI_LATENCY, Simulator
from custom_components.victron_mk3.vebus_mk3.timing import REMEMBERED, ReplyTimes

EXCHANGES = 6


async def _read_status(tmp_path: Path, usb_latency: float | None) -> tuple[Mk3Client, list[object]]:
    async with Simulator(
        link=str(tmp_path / "tty"), paced=True, time_scale=0, usb_latency=usb_latency
    ) as sim:
        client = Mk3Client(sim.url)
        await client.connect()
        try:
            await client.get_dc()  # scale discovery first: its bytes are not counted below
            reads, received = client.stats.reads, client.stats.bytes_received
            values: list[object] = []
            for _ in range(EXCHANGES // 2):
                values += [await client.get_leds(), await client.get_dc()]
            client.stats.reads -= reads
            client.stats.bytes_received -= received
            return client, values
        finally:
            await client.close()


async def test_byte_wise_port_reads_each_reply_in_about_one_read(tmp_path: Path) -> None:
    client, values = await _read_status(tmp_path, None)
    # L reply 8 bytes, DC info 17 bytes: one read per byte would be 75 reads.
    assert client.stats.bytes_received == EXCHANGES // 2 * (8 + 17)
    assert client.stats.reads <= 2 * EXCHANGES
    assert values[0] == values[2]  # a frozen model: same every time
    assert values[1] == values[3]
    assert client.stats.invalid_replies == 0


async def test_chunked_port_reads_each_reply_in_about_one_read(tmp_path: Path) -> None:
    client, values = await _read_status(tmp_path, FTDI_LATENCY)
    assert client.stats.bytes_received == EXCHANGES // 2 * (8 + 17)
    # ~4 bytes per 16 ms chunk: read as they come, that would be 20 reads.
    assert client.stats.reads <= 2 * EXCHANGES
    assert values[0] == values[2]
    assert values[1] == values[3]


def test_reply_time_is_learned_from_replies_that_were_not_complete_yet() -> None:
    times = ReplyTimes()
    payload = b"\xffL"
    assert times.predict(payload) is None
    times.learn(payload, 0.300, complete_when_read=False)  # a slow first exchange (busy start)
    assert times.predict(payload) is None  # one measurement does not set the pace
    times.learn(payload, 0.080, complete_when_read=False)
    times.learn(payload, 0.081, complete_when_read=False)
    assert times.predict(payload) == pytest.approx(0.081)  # the median: the slow one is ignored
    assert times.predict(b"\xffF\x00") is None  # another payload, another reply length


def test_reply_time_keeps_probing_for_a_faster_device() -> None:
    """Complete replies only say "no later than": the estimate creeps down until one is not."""
    times = ReplyTimes()
    payload = b"\xffL"
    for took in (0.080, 0.080, 0.080):
        times.learn(payload, took, complete_when_read=False)
    for _ in range(10):
        times.learn(payload, 0.080, complete_when_read=True)
    probing = times.predict(payload)
    assert probing is not None
    assert probing < 0.080
    times.learn(payload, 0.079, complete_when_read=False)  # read too early: a real measurement
    assert times.predict(payload) == pytest.approx(0.080)
    times.clear()
    assert times.predict(payload) is None


def test_reply_times_forget_the_oldest_of_endless_payloads() -> None:
    """Writes carrying values (an ESS setpoint every few seconds) must not grow memory forever."""
    times = ReplyTimes()
    for value in range(1000):
        for _ in range(2):
            times.learn(value.to_bytes(2, "little"), 0.05, complete_when_read=False)
    assert times.predict((999).to_bytes(2, "little")) == pytest.approx(0.05)
    assert times.predict((0).to_bytes(2, "little")) is None  # long forgotten
    assert len(times) == REMEMBERED

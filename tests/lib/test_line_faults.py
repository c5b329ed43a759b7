"""A realistic bad line (byte flips both ways) and USB-serial latency chunking, at the byte level.

Only raw frames are used (``frame.py``), never the client, so these hold whatever the client does.
"""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
import statistics
import time

import pytest
import serialx

from custom_components.victron_mk3.vebus_mk3.frame import encode_frame
from custom_components.victron_mk3.vebus_mk3.simulator import (
    BYTE_TIME,
    FTDI_LATENCY,
    MultiplusModel,
    Simulator,
)
from tests.lib.test_profiles import QUIET, talking_to
from tests.lib.test_simulator import Client

# --- a bad line ---------------------------------------------------------------------------------

L_REPLY_BYTES = 8  # 06 FF 4C on blink 00 00 cs


async def settle(client: Client, quiet: float = 0.3, within: float = 10.0) -> None:
    """Wait until no byte has arrived for ``quiet`` seconds."""
    async with asyncio.timeout(within):
        seen = -1
        while seen != len(client.raw):
            seen = len(client.raw)
            await asyncio.sleep(quiet)


async def bad_line_run(tmp_path: Path, seed: int, requests: int) -> tuple[bytes, int, int, int]:
    """Raw reply stream, L requests the device decoded, flipped reply and request bytes."""
    async with talking_to(tmp_path, seed=seed) as (sim, client):
        sim.faults.flip_probability = 0.02
        sim.faults.request_flip_probability = 0.05
        for _ in range(requests):
            client.send(b"\xffL")
        await settle(client)
        return bytes(client.raw), sim.count("L"), sim.reply_bytes_flipped, sim.request_bytes_flipped


async def test_flips_in_both_directions_at_the_configured_rate(tmp_path: Path) -> None:
    requests = 300
    raw, decoded, reply_flips, request_flips = await bad_line_run(tmp_path, 7, requests)
    # Host → device: each 4-byte request survives with (1 - 0.05)^4 ≈ 0.81; the rest fail the
    # device's checksum and get no reply at all.
    assert 20 <= request_flips <= 100  # expected 60 of 1200 bytes
    assert 0.70 * requests <= decoded <= 0.92 * requests
    # Device → host: flips keep the length, so the stream lines up with the clean replies.
    assert len(raw) == decoded * L_REPLY_BYTES
    flows = MultiplusModel().flows()  # the default unit, frozen: every L reply is the same
    clean = encode_frame(b"\xffL" + bytes((int(flows.leds_on), int(flows.leds_blink), 0, 0)))
    assert sum(raw[i : i + L_REPLY_BYTES] == clean for i in range(0, len(raw), L_REPLY_BYTES)) > decoded / 2
    differing = sum(a != b for a, b in zip(raw, clean * decoded, strict=True))
    assert differing == reply_flips
    assert 0.01 <= reply_flips / len(raw) <= 0.035  # configured 0.02


async def test_flips_are_reproducible_with_a_seed(tmp_path: Path) -> None:
    first = await bad_line_run(tmp_path, 11, 60)
    again = await bad_line_run(tmp_path, 11, 60)
    other = await bad_line_run(tmp_path, 12, 60)
    assert first == again
    assert first != other


# --- USB-serial latency chunking ---------------------------------------------------------------


class Arrivals(Client):
    """Remembers when each read arrived and how big it was."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[tuple[float, int]] = []

    def data_received(self, data: bytes) -> None:
        self.reads.append((time.monotonic(), len(data)))
        super().data_received(data)


async def paced_burst(tmp_path: Path, usb_latency: float | None) -> list[tuple[float, int]]:
    """Twelve DC info frames (17 bytes each) queued back to back on a paced line."""
    async with Simulator(
        link=str(tmp_path / "tty"), paced=True, time_scale=0, version_interval=QUIET, usb_latency=usb_latency
    ) as sim:
        client = Arrivals()
        loop = asyncio.get_running_loop()
        await serialx.create_serial_connection(loop, lambda: client, sim.url, baudrate=2400)
        try:
            for _ in range(12):
                client.send(b"\xffF\x00")
            async with asyncio.timeout(5):
                while sum(size for _, size in client.reads) < 12 * 17:
                    await asyncio.sleep(0.02)
            assert len(client.log) == 12
            return client.reads
        finally:
            await client.close()


def byte_rate(reads: list[tuple[float, int]]) -> float:
    """Bytes per second after the first read (the first read's bytes were on the wire before)."""
    span = reads[-1][0] - reads[0][0]
    return sum(size for _, size in reads[1:]) / span


async def test_usb_latency_delivers_in_chunks_at_2400_baud(tmp_path: Path) -> None:
    chunked = await paced_burst(tmp_path, FTDI_LATENCY)
    sizes = [size for _, size in chunked]
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(chunked)]
    assert statistics.median(sizes) >= 3  # 16 ms of 2400 baud ≈ 3.8 bytes per chunk
    assert 0.012 <= statistics.median(gaps) <= 0.022
    assert byte_rate(chunked) == pytest.approx(1 / BYTE_TIME, rel=0.1)
    bytewise = await paced_burst(tmp_path, None)
    assert statistics.median(size for _, size in bytewise) == 1
    assert len(bytewise) > 2.5 * len(chunked)
    assert byte_rate(bytewise) == pytest.approx(1 / BYTE_TIME, rel=0.1)

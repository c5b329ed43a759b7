"""Reading a frame's rest in one read: far fewer wake-ups on a byte-wise port, same frames."""

from __future__ import annotations

from pathlib import Path

from custom_components.victron_mk3.vebus_mk3 import Mk3Client
from custom_components.victron_mk3.vebus_mk3.simulator import FTDI_LATENCY, Simulator

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


async def test_byte_wise_port_reads_each_frame_in_about_two_reads(tmp_path: Path) -> None:
    client, values = await _read_status(tmp_path, None)
    # L reply 8 bytes, DC info 17 bytes: one read per byte would be 75 reads.
    assert client.stats.bytes_received == EXCHANGES // 2 * (8 + 17)
    assert client.stats.reads <= 3 * EXCHANGES
    assert values[0] == values[2]  # a frozen model: same every time
    assert values[1] == values[3]
    assert client.stats.invalid_replies == 0


async def test_chunked_port_is_read_as_it_comes(tmp_path: Path) -> None:
    client, values = await _read_status(tmp_path, FTDI_LATENCY)
    assert client.stats.bytes_received == EXCHANGES // 2 * (8 + 17)
    # ~4 bytes per 16 ms chunk: no deferral, every chunk is one read.
    assert client.stats.reads > 2 * EXCHANGES
    assert values[0] == values[2]
    assert values[1] == values[3]

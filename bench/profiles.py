"""Per device profile (issue 12): connect → first complete sample, and cycle time vs the wire.

Library level: ``Mk3Client`` + ``Sampler`` against ``Simulator(profile=..., paced=True)``. A
profile the library cannot sample yet gives a row saying how it fails instead of ending the run.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
from dataclasses import dataclass
from pathlib import Path
import sys
import tempfile
import time

from custom_components.victron_mk3.vebus_mk3 import Mk3Client, Mk3Error, Sampler
from custom_components.victron_mk3.vebus_mk3.sampler import MIN_CYCLE, SLOW_INTERVAL
from custom_components.victron_mk3.vebus_mk3.simulator import PROFILES, Mk3Device, Simulator, make_model

from .link import BYTES_PER_SECOND, Row

CYCLES = 10
FIRST_SAMPLE_TIMEOUT = 15.0  # as long as Home Assistant's setup waits for it
CYCLES_TIMEOUT = 30.0
# The bound is what the requests take one at a time; sent together they take less, and the
# cycle is paced at MIN_CYCLE (CPU, link headroom): a device whose bound is shorter is read at
# the pace, not faster.
TARGET = f"cycle ≤ 1.15× bound (or the {MIN_CYCLE:g} s pace)"


def turnaround(profile: str, payloads: list[bytes]) -> float:
    """The device's own thinking time for these requests, on a fresh model of ``profile``."""
    device = Mk3Device(make_model(profile))
    return sum(device.handle(p).turnaround for p in payloads)


def request_names(payloads: list[bytes]) -> str:
    """``F00 F01 Z30 L``: letter and first data byte of each request."""
    return " ".join(chr(p[1]) + p[2:3].hex() for p in payloads if len(p) >= 2)


async def _wait_cycles(sampler: Sampler, count: int, run: asyncio.Task[None]) -> None:
    async with asyncio.timeout(CYCLES_TIMEOUT):
        while sampler.stats.cycles < count:
            if run.done():
                run.result()  # raises the sampler's error
                raise Mk3Error("sampling stopped")
            await asyncio.sleep(0.005)


@dataclass
class Sampling:
    """A sampler running against a simulated ``profile``, past its first complete sample."""

    sim: Simulator
    client: Mk3Client
    sampler: Sampler
    run: asyncio.Task[None]
    to_first: float  # seconds from connecting to the first complete sample


@contextlib.asynccontextmanager
async def sampling(profile: str, *, slow_interval: float = SLOW_INTERVAL) -> AsyncIterator[Sampling]:
    """Connect, start sampling and wait for the first complete sample; raises ``Mk3Error`` if none."""
    with tempfile.TemporaryDirectory() as tmp:
        sim = Simulator(link=str(Path(tmp) / "tty"), paced=True, time_scale=0.0, profile=profile)
        async with sim:
            client = Mk3Client(sim.url)
            sampler = (
                Sampler(client) if slow_interval is None else Sampler(client, slow_interval=slow_interval)
            )
            first: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            sampler.add_listener(lambda _status: None if first.done() else first.set_result(None))
            started = time.monotonic()
            await client.connect()
            run = asyncio.create_task(sampler.run())
            try:
                await asyncio.wait(
                    {first, run}, timeout=FIRST_SAMPLE_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
                )
                if not first.done() and not run.done():
                    raise Mk3Error(
                        f"no complete sample within {FIRST_SAMPLE_TIMEOUT:.0f} s"
                        f" ({client.stats.requests} requests, {client.stats.timeouts} unanswered)"
                    )
                if run.done():
                    run.result()
                    raise Mk3Error("sampling stopped before a complete sample")
                yield Sampling(sim, client, sampler, run, time.monotonic() - started)
            finally:
                run.cancel()
                await asyncio.gather(run, return_exceptions=True)
                await client.close()


async def measure_profile(profile: str) -> str:
    """One row's value for ``profile``; raises on failure (the caller words it)."""
    async with sampling(profile, slow_interval=3600) as running:
        sim, client, sampler, run = running.sim, running.client, running.sampler, running.run
        before_first = f"{client.stats.requests} requests, {client.stats.timeouts} unanswered"
        # Settle one full cycle, then count CYCLES of them.
        await _wait_cycles(sampler, sampler.stats.cycles + 1, run)
        sim.clear_received()
        sent, received = client.stats.bytes_sent, client.stats.bytes_received
        cycles, started = sampler.stats.cycles, time.monotonic()
        await _wait_cycles(sampler, cycles + CYCLES, run)
        cycle = (time.monotonic() - started) / CYCLES
        wire = (client.stats.bytes_sent - sent + client.stats.bytes_received - received) / CYCLES
        requests = list(sim.received)
    to_first = running.to_first
    bound = wire / BYTES_PER_SECOND + turnaround(profile, requests) / CYCLES
    per_cycle = requests[: max(1, round(len(requests) / CYCLES))]
    return (
        f"first complete sample {to_first:.2f} s ({before_first});"
        f" cycle {cycle * 1000:.0f} ms / bound {bound * 1000:.0f} ms"
        f" = {cycle / bound:.2f}×, {cycle / max(bound, MIN_CYCLE):.2f}× the bound or pace"
        f" ({request_names(per_cycle)})"
    )


async def measure_profiles(rows: list[Row]) -> None:
    for name, profile in PROFILES.items():
        print(f"bench: profile {name}", file=sys.stderr)
        try:
            value = await measure_profile(name)
        except TimeoutError:
            value = f"fails: fewer than {CYCLES} cycles in {CYCLES_TIMEOUT:.0f} s"
        except Exception as err:  # an honest row, whatever the library raises
            value = f"fails: {type(err).__name__}: {err}"
        rows.append(Row(f"profile {name} ({profile.description})", value, TARGET))

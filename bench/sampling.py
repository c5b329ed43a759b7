"""Library-level rows that explain the Home Assistant ones: a state change reaching a sample,
and the sample rate on a bad line (``Sampler`` + ``LinkSupervisor``, simulator paced at 2400 baud).
"""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
import statistics
import sys
import tempfile
import time

from custom_components.victron_mk3.vebus_mk3 import (
    DeviceStatus,
    Led,
    LinkSupervisor,
    Mk3Client,
    Mk3Error,
    Sampler,
)
from custom_components.victron_mk3.vebus_mk3.simulator import Faults, Simulator

from .link import Row

TRIALS = 6
BAD_LINE_WINDOW = 20.0
BAD_LINES = (
    ("1 % byte flips both ways", Faults(flip_probability=0.01, request_flip_probability=0.01)),
    ("5 % dropped replies", Faults(drop_probability=0.05)),
)


class Watched:
    """A supervised sampler against a simulator, with every sample and fault it produced."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.client = Mk3Client(sim.url)
        self.sampler = Sampler(self.client)
        self.samples: list[tuple[float, DeviceStatus]] = []
        self.faults: list[float] = []
        self.sampler.add_listener(lambda status: self.samples.append((time.monotonic(), status)))
        supervisor = LinkSupervisor(
            self.client, self.sampler, lambda _err: self.faults.append(time.monotonic())
        )
        self.task = asyncio.create_task(supervisor.run())

    async def first_sample(self) -> None:
        async with asyncio.timeout(20):
            while not self.samples:
                await asyncio.sleep(0.05)

    async def until_leds(self, since: float, mains: bool) -> float:
        """Seconds from ``since`` to the first sample whose mains LED is ``mains``."""
        async with asyncio.timeout(20):
            while True:
                for at, status in self.samples:
                    if at >= since and status.leds is not None and (Led.MAINS in status.leds.on) is mains:
                        return at - since
                await asyncio.sleep(0.005)

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.client.close()


async def _state_change(watched: Watched) -> list[float]:
    after = []
    for trial in range(TRIALS):
        present = trial % 2 == 1
        await asyncio.sleep(1.5 + 0.13 * trial)  # past the previous change's confirming reads
        since = time.monotonic()
        watched.sim.model.ac_input_present = present
        after.append(await watched.until_leds(since, present))
    return after


async def _bad_line(watched: Watched, faults: Faults) -> str:
    sim, client = watched.sim, watched.client
    sim.faults = faults
    samples, downs, timeouts = len(watched.samples), len(watched.faults), client.stats.timeouts
    flipped = sim.reply_bytes_flipped + sim.request_bytes_flipped
    started = time.monotonic()
    await asyncio.sleep(BAD_LINE_WINDOW)
    elapsed = time.monotonic() - started
    sim.faults = Faults()
    times = [started] + [at for at, _ in watched.samples[samples:]]
    longest = max(b - a for a, b in itertools.pairwise(times)) if len(times) > 1 else elapsed
    return (
        f"{(len(watched.samples) - samples) / elapsed:.2f} samples/s;"
        f" {len(watched.faults) - downs} link-downs;"
        f" {client.stats.timeouts - timeouts} timeouts;"
        f" {sim.reply_bytes_flipped + sim.request_bytes_flipped - flipped} bytes flipped;"
        f" longest gap {longest:.1f} s"
    )


async def measure_sampling(rows: list[Row]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sim = Simulator(link=str(Path(tmp) / "tty"), paced=True, time_scale=0.0)
        async with sim:
            watched = Watched(sim)
            try:
                await watched.first_sample()
                changes = await _state_change(watched)
                rows.append(
                    Row(
                        "AC input off/on → sample with the new mains LED (library), median / max",
                        f"{statistics.median(changes):.2f} / {max(changes):.2f} s",
                    )
                )
                for label, faults in BAD_LINES:
                    print(f"bench:   library on a bad line: {label}", file=sys.stderr, flush=True)
                    rows.append(
                        Row(
                            f"library on a bad line, {label} ({BAD_LINE_WINDOW:.0f} s; clean: 2.4 samples/s)",
                            await _bad_line(watched, faults),
                        )
                    )
            except (Mk3Error, TimeoutError) as err:
                rows.append(Row("library sampling rows", f"fails: {type(err).__name__}: {err}"))
            finally:
                await watched.stop()

"""Link-level figures against the simulator paced at real 2400 baud."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
import functools
import os
from pathlib import Path
import statistics
import sys
import tempfile
import threading
import time

from custom_components.victron_mk3.vebus_mk3 import Mk3Client, SwitchState, probe
from custom_components.victron_mk3.vebus_mk3.sampler import MIN_CYCLE, Sampler
from custom_components.victron_mk3.vebus_mk3.simulator import (
    BYTE_TIME,
    FTDI_LATENCY,
    Mk3Device,
    MultiplusModel,
    Simulator,
)

BYTES_PER_SECOND = 1 / BYTE_TIME
CYCLES = 12
# Cycles the event-loop CPU is averaged over (its per-cycle figure is noisy on a VM).
LOOP_CYCLES = 40
# The CLI's simulate command, run as a process of its own.
_SIMULATE = "import sys; from custom_components.victron_mk3.vebus_mk3.cli import main; sys.exit(main())"
COMMANDS = 8


@dataclass
class Row:
    name: str
    value: str
    target: str = ""


async def _set_mode(client: Mk3Client, mode: SwitchState) -> None:
    await client.set_state(mode, 16.0)


def _turnaround(payloads: list[bytes]) -> float:
    """The device's own thinking time for these requests (read-only: a fresh model)."""
    device = Mk3Device(MultiplusModel())
    return sum(device.handle(p).turnaround for p in payloads)


async def _wait_cycles(sampler: Sampler, count: int) -> None:
    while sampler.stats.cycles < count:
        await asyncio.sleep(0.005)


async def measure_link(rows: list[Row]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sim = Simulator(link=str(Path(tmp) / "tty"), paced=True, time_scale=0.0)
        async with sim:
            client = Mk3Client(sim.url)
            await client.connect()
            sampler = Sampler(client, slow_interval=3600)
            task = asyncio.create_task(sampler.run())
            await _wait_cycles(sampler, 1)
            sim.clear_received()
            sent, received = client.stats.bytes_sent, client.stats.bytes_received
            started = time.monotonic()
            await _wait_cycles(sampler, 1 + CYCLES)
            elapsed = time.monotonic() - started
            per_cycle_out = (client.stats.bytes_sent - sent) / CYCLES
            per_cycle_in = (client.stats.bytes_received - received) / CYCLES
            cycle = elapsed / CYCLES
            busy = max(per_cycle_in, per_cycle_out) / BYTES_PER_SECOND / cycle
            one_cycle = sim.received[: len(sim.received) // CYCLES]
            bound = (per_cycle_out + per_cycle_in) / BYTES_PER_SECOND + _turnaround(one_cycle)
            rows += [
                Row("requests per cycle", " ".join(chr(p[1]) + p[2:3].hex() for p in one_cycle)),
                Row("bytes per cycle host→device / device→host", f"{per_cycle_out:.0f} / {per_cycle_in:.0f}"),
                Row("cycle bound (bytes/240 B/s + turnaround)", f"{bound * 1000:.0f} ms"),
                Row("measured cycle", f"{cycle * 1000:.0f} ms"),
                Row("measured / bound", f"{cycle / bound:.3f}", "≤ 1.15"),
                Row("link busy (busiest direction)", f"{busy:.0%}", "≤ 75 %"),
                Row("samples per second", f"{1 / cycle:.2f}"),
            ]
            device_side: list[float] = []
            confirmed: list[float] = []
            for i in range(COMMANDS):
                mode = SwitchState.CHARGER_ONLY if i % 2 == 0 else SwitchState.ON
                started = time.monotonic()
                command = asyncio.create_task(sampler.command(functools.partial(_set_mode, mode=mode)))
                while sim.model.switch_state is not mode:
                    await asyncio.sleep(0.002)
                device_side.append(time.monotonic() - started)
                await command
                confirmed.append(time.monotonic() - started)
            rows += [
                Row("command → device changed (median / p95)", _median_p95(device_side), "≤ 0.5 s"),
                Row("command → confirmed by F 5 read-back (median / p95)", _median_p95(confirmed)),
            ]
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            live = await _probe_after_close(client, sim.url)
            rows.append(Row("probe of the live simulator", f"{live:.3f} s"))
    await _measure_dead_ports(rows)


async def _probe_after_close(client: Mk3Client, url: str) -> float:
    await client.close()
    result = await probe(url)
    assert result.ok, result.detail
    return result.elapsed


async def _measure_dead_ports(rows: list[Row]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        missing = await probe(str(Path(tmp) / "ttyUSB9"))
    master, slave = os.openpty()
    try:
        silent = await probe(os.ttyname(slave))
    finally:
        os.close(master)
        os.close(slave)
    rows += [
        Row("probe of a missing port", f"{missing.elapsed:.3f} s ({missing.status})", "≤ 1.5 s"),
        Row("probe of a silent port", f"{silent.elapsed:.3f} s ({silent.status})", "≤ 1.5 s"),
    ]


def _median_p95(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{statistics.median(ordered):.3f} / {p95:.3f} s"


async def measure_loop_cost(rows: list[Row]) -> None:
    """CPU the event loop spends per sampling cycle (the simulator runs in its own thread).

    Twice: bytes arriving one at a time (a worst case), and in chunks every 16 ms as an FTDI
    chip with its default latency timer delivers them (what a real MK3-USB does).
    """
    floor = await _bare_wake_up(MIN_CYCLE)
    rows.append(
        Row(
            f"floor: CPU of one bare wake-up of an idle asyncio loop after {MIN_CYCLE:g} s asleep",
            f"{floor * 1000:.2f} ms",
        )
    )
    for usb_latency, how in ((None, "bytes one at a time"), (FTDI_LATENCY, "16 ms USB chunks")):
        per_cycle, sleeps, cycle = await _loop_cost(usb_latency)
        rows.append(
            Row(
                f"event-loop CPU per sampling cycle, client side ({how})",
                f"{per_cycle * 1000:.2f} ms; {sleeps:.1f} wake-ups per cycle; cycle {cycle * 1000:.0f} ms",
                "≤ 1 ms" if usb_latency else "",
            )
        )


async def _bare_wake_up(asleep: float, times: int = 12) -> float:
    """Median CPU seconds an idle event loop spends to sleep ``asleep`` and wake once.

    The cost of a wake-up grows with the time asleep on a VM (caches and TLB go cold); a
    sampling cycle cannot cost less than one of these.
    """
    spent = []
    for _ in range(times):
        cpu = time.thread_time()
        await asyncio.sleep(asleep)
        spent.append(time.thread_time() - cpu)
    return statistics.median(spent)


def _voluntary_switches() -> int:
    """Times this thread blocked (the event loop waiting for I/O or a timer): its wake-ups."""
    status = Path(f"/proc/self/task/{threading.get_native_id()}/status").read_text()
    for line in status.splitlines():
        if line.startswith("voluntary_ctxt_switches:"):
            return int(line.split()[1])
    return 0


async def _loop_cost(usb_latency: float | None) -> tuple[float, float, float]:
    """CPU seconds, wake-ups and wall seconds per sampling cycle.

    The simulator runs in a process of its own (the CLI's ``simulate``): in a thread of this
    one, its byte-by-byte pacing would share the GIL and the CPU counted here.
    """
    with tempfile.TemporaryDirectory() as tmp:
        link = Path(tmp) / "tty"
        command = [sys.executable, "-c", _SIMULATE, "simulate", "--paced", "--link", str(link)]
        if usb_latency is not None:
            command += ["--usb-latency", str(usb_latency)]
        simulator = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.DEVNULL)
        try:
            async with asyncio.timeout(20):
                while not link.exists():
                    await asyncio.sleep(0.05)
            client = Mk3Client(str(link))
            await client.connect()
            sampler = Sampler(client, slow_interval=3600)
            task = asyncio.create_task(sampler.run())
            await _wait_cycles(sampler, 3)
            done = asyncio.Event()
            target = sampler.stats.cycles + LOOP_CYCLES
            sampler.add_listener(lambda _status: done.set() if sampler.stats.cycles >= target else None)
            cpu, cycles = time.thread_time(), sampler.stats.cycles
            switches, started = _voluntary_switches(), time.monotonic()
            await done.wait()
            count = sampler.stats.cycles - cycles
            per_cycle = (time.thread_time() - cpu) / count
            sleeps = (_voluntary_switches() - switches) / count
            wall = (time.monotonic() - started) / count
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await client.close()
        finally:
            simulator.terminate()
            await simulator.wait()
    return per_cycle, sleeps, wall

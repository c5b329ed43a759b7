"""How fast the link heals: replug → sampling again, wake → sampling again."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sized
from pathlib import Path
import statistics
import tempfile
import time

from custom_components.victron_mk3.vebus_mk3 import LinkSupervisor, Mk3Client, Mk3Error, Sampler, SwitchState
from custom_components.victron_mk3.vebus_mk3.simulator import MultiplusModel, Simulator

from .link import Row

ROUNDS = 3
# How long the cable stays out / the device sleeps before it comes back.
OUTAGE = 3.0


def _more_than(items: Sized, count: int) -> Callable[[], bool]:
    return lambda: len(items) > count


def _median_max(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} / {max(values):.2f} s"


async def _wait(predicate: Callable[[], bool]) -> None:
    async with asyncio.timeout(30):
        while not predicate():
            await asyncio.sleep(0.005)


async def measure_recovery(rows: list[Row]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        model = MultiplusModel(switch_state=SwitchState.OFF)
        sim = Simulator(model, link=str(Path(tmp) / "tty"), paced=True, time_scale=0.0)
        async with sim:
            client = Mk3Client(sim.url)
            sampler = Sampler(client)
            faults: list[Mk3Error] = []
            samples: list[float] = []
            supervisor = LinkSupervisor(client, sampler, faults.append)
            sampler.add_listener(lambda status: samples.append(status.taken_at))
            task = asyncio.create_task(supervisor.run())
            await _wait(lambda: bool(samples))
            replug, wake, unplugged, slept = [], [], [], []
            for _ in range(ROUNDS):
                count, started = len(faults), time.monotonic()
                await sim.unplug()
                await _wait(_more_than(faults, count))
                unplugged.append(time.monotonic() - started)
                await asyncio.sleep(OUTAGE)
                await sim.replug()
                back, started = len(samples), time.monotonic()
                await _wait(_more_than(samples, back))
                replug.append(time.monotonic() - started)

                count = len(faults)
                model.ac_input_present = False
                started = time.monotonic()
                await _wait(_more_than(faults, count))
                slept.append(time.monotonic() - started - sim.sleep_delay)
                await asyncio.sleep(OUTAGE)
                model.ac_input_present = True
                back, started = len(samples), time.monotonic()
                await _wait(_more_than(samples, back))
                wake.append(time.monotonic() - started)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await client.close()
    rows += [
        Row("unplug noticed (median / max)", _median_max(unplugged), "≤ 2 s"),
        Row("sleep noticed, after its onset (median / max)", _median_max(slept), "≤ 2 s"),
        Row(
            f"replug after {OUTAGE:.0f} s → sampling again (median / max)",
            _median_max(replug),
            "≤ 5 s",
        ),
        Row(
            f"wake after {OUTAGE:.0f} s asleep → sampling again (median / max)",
            _median_max(wake),
            "≤ 5 s",
        ),
    ]

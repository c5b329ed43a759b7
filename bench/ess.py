"""ESS external control rows: setpoint → AC input power settled, and what the keep-alive costs.

Library level (``Sampler`` + ``EssController``), simulator paced at 2400 baud with the ESS
assistant. The simulated unit regulates at once (a guess; a real one ramps in a second or two),
so "settled" measures the integration's part: the write jumping the queue, then the sampler
reading the power back.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
import statistics
import sys
import tempfile
import time

from custom_components.victron_mk3.vebus_mk3 import DeviceStatus, Mk3Client, Mk3Error, Sampler
from custom_components.victron_mk3.vebus_mk3.ess import discover_ess, measured_grid_power
from custom_components.victron_mk3.vebus_mk3.ess_control import EssController
from custom_components.victron_mk3.vebus_mk3.simulator import EssAssistant, MultiplusModel, Simulator

from .link import Row

SETPOINTS = (1500.0, -800.0, 500.0, 0.0, 2500.0, -1500.0)
SHARE_WINDOW = 40.0
TOLERANCE = 0.05
MIN_TOLERANCE_W = 25.0


async def _settled(sampler: Sampler, control: EssController, target: float) -> float:
    """Seconds from asking for ``target`` until a sample reads it at the AC input."""
    reached = asyncio.get_running_loop().create_future()
    asked = time.monotonic()

    def check(status: DeviceStatus) -> None:
        power = measured_grid_power(status, asked)
        tolerance = max(abs(target) * TOLERANCE, MIN_TOLERANCE_W)
        if power is not None and abs(power - target) <= tolerance and not reached.done():
            reached.set_result(time.monotonic() - asked)

    remove = sampler.add_listener(check)
    try:
        await control.hold(target)
        async with asyncio.timeout(20):
            return float(await reached)
    finally:
        remove()


async def _cycles_per_second(sampler: Sampler, seconds: float) -> float:
    cycles, started = sampler.stats.cycles, time.monotonic()
    await asyncio.sleep(seconds)
    return (sampler.stats.cycles - cycles) / (time.monotonic() - started)


async def measure_ess(rows: list[Row]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ess = EssAssistant()
        sim = Simulator(MultiplusModel(ess=ess), link=str(Path(tmp) / "tty"), paced=True, time_scale=0.0)
        async with sim:
            client = Mk3Client(sim.url)
            await client.connect()
            sampler = Sampler(client)
            task = asyncio.create_task(sampler.run())
            try:
                async with asyncio.timeout(20):
                    while sampler.latest is None or sampler.latest.ac_input_power is None:
                        await asyncio.sleep(0.05)
                started = time.monotonic()
                found: list[int | None] = []
                await sampler.command(lambda c: _discover_into(c, found), read_back=False)
                walk = time.monotonic() - started
                rows.append(Row("ESS discovery (assistant-record walk, once per setup)", f"{walk:.2f} s"))
                setpoint_id = found[0]
                assert setpoint_id is not None
                control = EssController(sampler, setpoint_id)
                times = [await _settled(sampler, control, target) for target in SETPOINTS]
                rows.append(
                    Row(
                        "ESS setpoint → AC input power settled in a sample, median / max",
                        f"{statistics.median(times):.2f} / {max(times):.2f} s",
                        "< 5 s",
                    )
                )
                print("bench:   ESS keep-alive share …", file=sys.stderr, flush=True)
                await control.release()
                free = await _cycles_per_second(sampler, SHARE_WINDOW / 2)
                await control.hold(1000)
                writes, seconds = control.stats.writes, control.stats.write_seconds
                held = await _cycles_per_second(sampler, SHARE_WINDOW / 2)
                share = (control.stats.write_seconds - seconds) / (SHARE_WINDOW / 2)
                rows.append(
                    Row(
                        "ESS keep-alive: link share; cycles/s released → held",
                        f"{share:.1%} ({control.stats.writes - writes} writes); {free:.2f} → {held:.2f}",
                    )
                )
                rows.append(Row("ESS EEPROM writes over the run (simulator)", str(ess.eeprom_writes), "0"))
                await control.close()
            except (Mk3Error, TimeoutError, AssertionError) as err:
                rows.append(Row("ESS rows", f"fails: {type(err).__name__}: {err}"))
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                await client.close()


async def _discover_into(client: Mk3Client, found: list[int | None]) -> None:
    found.append((await discover_ess(client)).setpoint_id)

"""Multi-unit systems (issue 15): cycle and per-unit refresh for single, parallel and three-phase.

Library level against ``Simulator(profile=..., paced=True)`` (2400 baud, device turnaround
times): time to the first complete sample (topology discovery included), the mean cycle, how
often each unit's powers are refreshed (one snapshot round), and what one round costs on the wire.
Run alone: ``python -m bench.units``.
"""

from __future__ import annotations

import asyncio
import sys
import time

from custom_components.victron_mk3.vebus_mk3.units import UNIT_INTERVAL

from .link import Row
from .profiles import sampling

PROFILES = ("multiplus2_mk3", "parallel", "three_phase")
WINDOW = 12.0  # seconds measured after the first sample
DEFAULT_PUBLISH_INTERVAL = 2.0
TARGET = f"cycle < {DEFAULT_PUBLISH_INTERVAL:g} s (default interval); units every ~{UNIT_INTERVAL:g} s"


async def measure_units_profile(profile: str) -> str:
    async with sampling(profile) as running:
        sampler, to_first = running.sampler, running.to_first
        cycles, rounds = sampler.stats.cycles, sampler.units.stats.rounds
        window_start = time.monotonic()
        longest = 0.0
        while time.monotonic() - window_start < WINDOW:
            await asyncio.sleep(0.05)
            longest = max(longest, sampler.stats.last_cycle_seconds)
        elapsed = time.monotonic() - window_start
        cycle = elapsed / max(1, sampler.stats.cycles - cycles)
        done = sampler.units.stats.rounds - rounds
        round_cost = sampler.units.stats.last_round_seconds
    topology = sampler.units.topology
    units = len(topology.units) if topology else 1
    refresh = (
        f"per-unit refresh {elapsed / done:.2f} s, round {round_cost * 1000:.0f} ms" if done else "no rounds"
    )
    return (
        f"{units} unit(s); first sample {to_first:.2f} s; cycle {cycle * 1000:.0f} ms mean,"
        f" {longest * 1000:.0f} ms longest; {refresh}"
    )


async def measure_units(rows: list[Row]) -> None:
    for profile in PROFILES:
        print(f"bench: units {profile}", file=sys.stderr)
        try:
            value = await measure_units_profile(profile)
        except Exception as err:  # an honest row, whatever the library raises
            value = f"fails: {type(err).__name__}: {err}"
        rows.append(Row(f"multi-unit {profile}", value, TARGET))


if __name__ == "__main__":

    async def _main() -> None:
        rows: list[Row] = []
        await measure_units(rows)
        for row in rows:
            print(f"| {row.name} | {row.value} | {row.target} |")

    asyncio.run(_main())

"""Print the benchmark table (Markdown) for the README; progress goes to stderr."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import sys
import time

from .ess import measure_ess
from .ha import measure_home_assistant
from .link import Row, measure_link, measure_loop_cost
from .profiles import measure_profiles
from .recovery import measure_recovery
from .sampling import measure_sampling
from .units import measure_units


async def _step(name: str, rows: list[Row], measure: Callable[[list[Row]], Awaitable[None]]) -> None:
    started = time.monotonic()
    print(f"bench: {name} …", file=sys.stderr, flush=True)
    await measure(rows)
    print(f"bench: {name} done in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)


async def main() -> None:
    rows: list[Row] = []
    await _step("link", rows, measure_link)
    await _step("event-loop CPU", rows, measure_loop_cost)
    await _step("profiles", rows, measure_profiles)
    await _step("multi-unit systems", rows, measure_units)
    await _step("recovery", rows, measure_recovery)
    await _step("library: state changes, bad line", rows, measure_sampling)
    await _step("ESS external control", rows, measure_ess)
    await _step("Home Assistant, default options", rows, measure_home_assistant)
    await _step("Home Assistant, 0.5 s", rows, lambda rows: measure_home_assistant(rows, interval=0.5))
    print("| measure | value | target |")
    print("|---|---|---|")
    for row in rows:
        print(f"| {row.name} | {row.value} | {row.target} |")


asyncio.run(main())

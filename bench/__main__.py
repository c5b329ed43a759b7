"""Print the benchmark table (Markdown) for the README; progress goes to stderr."""

from __future__ import annotations

import argparse
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


STEPS: dict[str, tuple[str, Callable[[list[Row]], Awaitable[None]]]] = {
    "link": ("link", measure_link),
    "cpu": ("event-loop CPU", measure_loop_cost),
    "profiles": ("profiles", measure_profiles),
    "units": ("multi-unit systems", measure_units),
    "recovery": ("recovery", measure_recovery),
    "sampling": ("library: state changes, bad line", measure_sampling),
    "ess": ("ESS external control", measure_ess),
    "ha": ("Home Assistant, default options", measure_home_assistant),
    "ha-fast": ("Home Assistant, 0.5 s", lambda rows: measure_home_assistant(rows, interval=0.5)),
}


async def main(only: list[str]) -> None:
    rows: list[Row] = []
    for key, (name, measure) in STEPS.items():
        if not only or key in only:
            await _step(name, rows, measure)
    print("| measure | value | target |")
    print("|---|---|---|")
    for row in rows:
        print(f"| {row.name} | {row.value} | {row.target} |")


parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__)
parser.add_argument("only", nargs="*", metavar="STEP", help=f"run only these: {', '.join(STEPS)}")
only = parser.parse_args().only
if unknown := set(only) - set(STEPS):
    parser.error(f"unknown step(s): {', '.join(sorted(unknown))}")
asyncio.run(main(only))

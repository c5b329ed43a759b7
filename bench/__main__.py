"""Print the benchmark table (Markdown) for the README."""

from __future__ import annotations

import asyncio

from .ha import measure_home_assistant
from .link import Row, measure_link, measure_loop_cost
from .recovery import measure_recovery


async def main() -> None:
    rows: list[Row] = []
    await measure_link(rows)
    await measure_loop_cost(rows)
    await measure_recovery(rows)
    await measure_home_assistant(rows)
    await measure_home_assistant(rows, interval=0.5)
    print("| measure | value | target |")
    print("|---|---|---|")
    for row in rows:
        print(f"| {row.name} | {row.value} | {row.target} |")


asyncio.run(main())

"""Home Assistant side: a real ``hass`` process against the simulator paced at 2400 baud."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
import contextlib
import sys
import time

from custom_components.victron_mk3.vebus_mk3 import SwitchState
from custom_components.victron_mk3.vebus_mk3.simulator import Simulator

from .faults import measure_bad_line
from .hass import Setup, cpu_seconds, median_p95, running_home_assistant
from .link import Row

WRITES_WINDOW = 30.0
TRIALS = 8
TOP_WRITERS = 6


def _near(value: float) -> Callable[[str], bool]:
    def accept(state: str) -> bool:
        with contextlib.suppress(ValueError):
            return abs(float(state) - value) < 2
        return False

    return accept


def _is(wanted: str) -> Callable[[str], bool]:
    return lambda state: state == wanted


def _set_load(load: float) -> Callable[[Simulator], None]:
    return lambda sim: setattr(sim.model, "load_w", load)


def _set_mains(present: bool) -> Callable[[Simulator], None]:
    return lambda sim: setattr(sim.model, "ac_input_present", present)


async def measure_home_assistant(rows: list[Row], interval: float | None = None) -> None:
    """Rows at the given update interval (None: default options, plus the bad-line rows)."""
    async with running_home_assistant(interval) as setup:
        await _measure(rows, setup, interval)
        if interval is None:
            await measure_bad_line(rows, setup)


def _progress(text: str) -> None:
    print(f"bench:   {text}", file=sys.stderr, flush=True)


async def _measure(rows: list[Row], setup: Setup, interval: float | None) -> None:
    default = interval is None
    label = "default 2 s" if default else f"{interval} s"
    _progress(f"entity writes and hass CPU over {WRITES_WINDOW:.0f} s ({label})")
    await asyncio.sleep(3)
    cpu, started = cpu_seconds(setup.pid), time.monotonic()
    await asyncio.sleep(WRITES_WINDOW)
    elapsed = time.monotonic() - started
    cpu_per_minute = (cpu_seconds(setup.pid) - cpu) * 60 / elapsed
    writes = Counter(setup.keys[event.entity_id] for event in setup.events.since(started))
    per_minute = 60 / elapsed
    top = ", ".join(f"{key} {count * per_minute:.0f}" for key, count in writes.most_common(TOP_WRITERS))
    rows += [
        Row(f"hass CPU seconds per minute ({label})", f"{cpu_per_minute:.2f}", "≤ 0.45" if default else ""),
        Row(
            f"state writes (state_changed) per minute by entity ({label})",
            f"total {writes.total() * per_minute:.0f}/min in {len(writes)} entities; {top}, …",
        ),
    ]
    _progress("freshness of a measurement and of a state")
    mains_present, mains_led = await _state_freshness(setup)
    rows += [
        Row(
            f"load change in the device → ac_output_power in HA, median / p95 ({label})",
            median_p95(await _measurement_freshness(setup)),
            "≤ 1.3 s median" if default else "",
        ),
        Row(
            f"AC input off/on → mains_indicator (LED) in HA, median / p95 ({label})",
            median_p95(mains_led),
            "≤ 0.6 s median" if default else "",
        ),
        Row(
            f"AC input off/on → mains_present (from mains voltage) in HA, median / p95 ({label})",
            median_p95(mains_present),
            "≤ 0.6 s median" if default else "",
        ),
    ]
    _progress("commands")
    await _measure_commands(rows, setup)


async def _measurement_freshness(setup: Setup) -> list[float]:
    power = setup.entities["ac_output_power"]
    freshness = []
    for trial in range(TRIALS):
        load = 500.0 + 137 * trial
        await asyncio.sleep(0.37 * (trial % 3))  # land at different points of the publish cycle
        since = time.monotonic()
        setup.sim.call(_set_load(load))
        freshness.append(await setup.events.first(since, power, _near(load)))
    return freshness


async def _state_freshness(setup: Setup) -> tuple[list[float], list[float]]:
    """AC input switched off and on: seconds until mains_present and the mains LED's sensor follow."""
    mains, led = setup.entities["mains_present"], setup.entities["mains_indicator"]
    present_after, led_after = [], []
    for trial in range(TRIALS):
        present = trial % 2 == 1
        # Let the previous change's confirming reads (config frame: 0.8 s) pass, then land at
        # different points of the sampling cycle.
        await asyncio.sleep(1.5 + 0.13 * trial)
        since = time.monotonic()
        setup.sim.call(_set_mains(present))
        wanted = _is("on" if present else "off")
        present_after.append(await setup.events.first(since, mains, wanted))
        led_after.append(await setup.events.first(since, led, wanted))
    return present_after, led_after


async def _measure_commands(rows: list[Row], setup: Setup) -> None:
    sim, api, events = setup.sim, setup.api, setup.events
    device_side, ha_side = [], []
    for trial in range(TRIALS // 2):
        mode = "charger_only" if trial % 2 == 0 else "on"
        expected = SwitchState.CHARGER_ONLY if mode == "charger_only" else SwitchState.ON
        since = time.monotonic()
        call = asyncio.create_task(
            api.call_service(
                "victron_mk3", "set_remote_panel_state", {"device_id": setup.device_id, "mode": mode}
            )
        )
        while sim.call(lambda s: s.model.switch_state) is not expected:
            await asyncio.sleep(0.005)
        device_side.append(time.monotonic() - since)
        ha_side.append(await events.first(since, setup.select, _is(mode)))
        await call
    rows += [
        Row("set_remote_panel_state → device changed, median / p95", median_p95(device_side), "≤ 0.5 s"),
        Row(
            "set_remote_panel_state → HA state shows it (read back), median / p95",
            median_p95(ha_side),
            "≤ 0.7 s",
        ),
    ]

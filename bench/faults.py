"""A bad line in Home Assistant (issue 13): how often entities are there, and how often they lie.

The simulator's model is frozen (``time_scale = 0``), so the truth is constant: every value the
device can report is known at its own resolution (the simulator's encoders are the exact inverse
of the decoding rule, see ``simulator/ramvars.py``). Each write of a tracked entity is checked
against it. Writes are collected twice and merged by their ``last_reported`` time: state_changed
events (every changed value, however short-lived) and a poll every ``POLL`` seconds through a
template (a write that repeats the previous value fires no event, yet a repeated wrong value
must count once per write). A repeated value written twice between two polls counts once; at
the 2 s default interval the poll sees every periodic write. Availability is the share of polls
that found each of ``AVAILABILITY`` available.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
import math
import sys
import time

from custom_components.victron_mk3.vebus_mk3 import Led, RamVar, SwitchState
from custom_components.victron_mk3.vebus_mk3.simulator import (
    RAM_VARS,
    Faults,
    MultiplusModel,
    RamVarSpec,
    Simulator,
)

from .hass import DOMAIN, UNAVAILABLE, Setup
from .link import Row

WINDOW = 60.0
CONTROL_WINDOW = 12.0
POLL = 0.25
# After freezing the model or changing the faults: the median window (3 samples) and one
# publish interval pass before the window opens.
SETTLE = 6.0
SETTLE_LIMIT = 30.0
# One entity per fast part of a reading: DC, AC L1, power variables, LEDs.
AVAILABILITY = ("battery_voltage", "ac_input_voltage", "ac_output_power", "lit_indicators")
# Above any nominal mains, below what an open input reads (binary_sensor.MAINS_PRESENT_VOLTAGE).
MAINS_PRESENT_VOLTAGE = 80.0
CONDITIONS = (
    ("1 % byte flips both ways", Faults(flip_probability=0.01, request_flip_probability=0.01), 95.0, 0.5),
    ("5 % dropped replies", Faults(drop_probability=0.05), 99.0, None),
)

Truth = float | str


def _at_resolution(spec: RamVarSpec, value: float) -> float:
    """``value`` as the device sends it: rounded to the variable's step."""
    return spec.scale * round(value / spec.scale)


def _frequency(spec: RamVarSpec, hertz: float) -> float:
    """A frequency travels as a period (0.1 s units) at the variable's resolution."""
    period = _at_resolution(spec, 10 / hertz) if hertz > 0 else 0.0
    return 10 / period if period > 0 else 0.0


def _on(value: bool) -> str:
    return "on" if value else "off"


def _mode(charge: bool, invert: bool) -> str:
    if charge and invert:
        return "on"
    return "charger_only" if charge else "inverter_only" if invert else "off"


def true_states(model: MultiplusModel) -> dict[str, Truth]:
    """What each tracked entity must show for this (frozen) model, by entity key."""
    flows = model.flows()
    phase = flows.phase
    centi, signed_centi = RAM_VARS[RamVar.MAINS_VOLTAGE], RAM_VARS[RamVar.MAINS_CURRENT]
    lit = flows.leds_on  # the L reply's first byte: lit and blinking ones
    return {
        "battery_voltage": _at_resolution(RAM_VARS[RamVar.BATTERY_VOLTAGE], flows.battery_voltage),
        "battery_charger_current": _at_resolution(
            RAM_VARS[RamVar.BATTERY_CURRENT], max(0.0, flows.battery_current)
        ),
        "ac_input_voltage": _at_resolution(centi, phase.mains_voltage),
        "ac_input_current": _at_resolution(signed_centi, phase.mains_current),
        # The integration publishes frequencies at 0.01 Hz (a period step is finer than that).
        "ac_input_frequency": round(_frequency(RAM_VARS[RamVar.MAINS_PERIOD], phase.mains_frequency), 2),
        "ac_output_voltage": _at_resolution(centi, phase.output_voltage),
        "ac_output_power": _at_resolution(RAM_VARS[RamVar.OUTPUT_POWER], phase.output_power),
        "device_state": flows.state.name.lower(),
        "mains_present": _on(phase.mains_voltage >= MAINS_PRESENT_VOLTAGE),
        "inverter_on": _on(flows.inverting),
        "mains_indicator": _on(Led.MAINS in lit),
        "bulk_indicator": _on(Led.BULK in lit),
        "inverter_indicator": _on(Led.INVERTER in lit),
        "lit_indicators": "|".join(led.name.lower() for led in Led if led in lit and led.name) or "none",
        "remote_panel_mode": _mode(model.remote_charge, model.remote_invert),
        "actual_mode": _mode(model.result_charge, model.result_invert),
    }


def is_right(state: str, truth: Truth) -> bool:
    if isinstance(truth, str):
        return state == truth
    try:
        return math.isclose(float(state), truth, rel_tol=1e-6, abs_tol=1e-6)
    except ValueError:
        return False


@dataclass
class Observed:
    """What one window saw."""

    seconds: float
    polls: Counter[str]  # polls per entity key
    available: Counter[str]  # polls that found the entity available
    writes: dict[tuple[str, str], str]  # (entity key, last_reported) → state
    flipped: int  # bytes the line corrupted (both directions)
    dropped: int  # replies the line lost

    def availability(self, key: str) -> float:
        return 100 * self.available[key] / max(1, self.polls[key])

    def wrong(self, truth: dict[str, Truth]) -> tuple[int, int, list[str]]:
        """Wrong writes, all writes (unavailable ones not counted) and a few examples."""
        values = [(key, state) for (key, _), state in self.writes.items() if state not in UNAVAILABLE]
        wrong = [
            f"{key}={state} (true {truth[key]})" for key, state in values if not is_right(state, truth[key])
        ]
        return len(wrong), len(values), wrong[:5]


# Rendered by Home Assistant: each entity's state and the time of its last write. The REST
# states carry a cached last_reported that a write of the same state does not refresh.
WRITES_TEMPLATE = (
    "[{% for id in ids %}{% set s = expand(id) | first %}"
    "[{{ id | tojson }}, {{ s.state | tojson }}, {{ s.last_reported.isoformat() | tojson }}]"
    "{% if not loop.last %},{% endif %}{% endfor %}]"
)


async def _poll(setup: Setup, entity_ids: list[str]) -> list[tuple[str, str, str]]:
    """(entity id, state, last write) of each entity, now."""
    answer = await setup.api.post(
        "/api/template", {"template": WRITES_TEMPLATE, "variables": {"ids": entity_ids}}
    )
    return [(str(entity_id), str(state), str(written)) for entity_id, state, written in answer]


async def _observe(setup: Setup, truth: dict[str, Truth], seconds: float) -> Observed:
    ids = {setup.entities[key]: key for key in truth if key in setup.entities}
    sim = setup.sim
    before = sim.call(lambda s: (s.reply_bytes_flipped + s.request_bytes_flipped, s.replies_dropped))
    polls: Counter[str] = Counter()
    available: Counter[str] = Counter()
    writes: dict[tuple[str, str], str] = {}
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        for entity_id, state, written in await _poll(setup, list(ids)):
            key = ids[entity_id]
            if key in AVAILABILITY:
                polls[key] += 1
                available[key] += state not in UNAVAILABLE
            writes[(key, written)] = state
        await asyncio.sleep(POLL)
    elapsed = time.monotonic() - started
    for event in setup.events.since(started):
        if event.entity_id in ids:
            writes[(ids[event.entity_id], event.written)] = event.state
    after = sim.call(lambda s: (s.reply_bytes_flipped + s.request_bytes_flipped, s.replies_dropped))
    return Observed(elapsed, polls, available, writes, after[0] - before[0], after[1] - before[1])


async def _settle(setup: Setup) -> None:
    """Let the medians fill with samples of the new conditions, and a lost link come back.

    Entities still unavailable after ``SETTLE_LIMIT`` seconds are reported on stderr with the
    end of Home Assistant's log; the window is measured anyway (and shows them unavailable).
    """
    await asyncio.sleep(SETTLE)
    ids = [setup.entities[key] for key in AVAILABILITY]
    started = time.monotonic()
    while missing := [setup.keys[i] for i, state, _ in await _poll(setup, ids) if state in UNAVAILABLE]:
        if time.monotonic() - started > SETTLE_LIMIT:
            log = "\n".join(line for line in setup.process.log_tail(400).splitlines() if DOMAIN in line)
            print(
                f"bench:   still unavailable after {SETTLE + SETTLE_LIMIT:.0f} s: {', '.join(missing)};"
                f" Home Assistant's log about the integration:\n{log[-3000:]}",
                file=sys.stderr,
                flush=True,
            )
            return
        await asyncio.sleep(POLL)


def _availability_text(observed: Observed) -> tuple[float, str]:
    worst = min(AVAILABILITY, key=observed.availability)
    mean = sum(observed.availability(key) for key in AVAILABILITY) / len(AVAILABILITY)
    return mean, f"{mean:.1f} % (worst: {worst} {observed.availability(worst):.1f} %)"


def _wrong_text(observed: Observed, truth: dict[str, Truth]) -> tuple[float, str]:
    wrong, total, examples = observed.wrong(truth)
    share = 100 * wrong / max(1, total)
    if examples:
        print(f"bench:   wrong values, e.g. {'; '.join(examples)}", file=sys.stderr, flush=True)
    return share, f"{share:.2f} % ({wrong} of {total} writes of {len(truth)} entities)"


def _set_faults(faults: Faults) -> Callable[[Simulator], None]:
    return lambda sim: setattr(sim, "faults", faults)


async def measure_bad_line(rows: list[Row], setup: Setup) -> None:
    """Rows for a bad line at default options; leaves the line clean and the model running."""
    sim = setup.sim
    sim.call(lambda s: setattr(s, "time_scale", 0.0))
    sim.call(lambda s: setattr(s.model, "switch_state", SwitchState.ON))
    sim.call(lambda s: setattr(s.model, "ac_input_present", True))
    await _settle(setup)
    truth = sim.call(lambda s: true_states(s.model))
    print(
        f"bench:   clean line, {CONTROL_WINDOW:.0f} s (checks the truth table)", file=sys.stderr, flush=True
    )
    control = await _observe(setup, truth, CONTROL_WINDOW)
    _, available = _availability_text(control)
    _, wrong = _wrong_text(control, truth)
    rows.append(
        Row(f"clean line, {CONTROL_WINDOW:.0f} s (control): available / wrong", f"{available} / {wrong}")
    )
    try:
        for label, faults, available_target, wrong_target in CONDITIONS:
            print(f"bench:   {label}, {WINDOW:.0f} s", file=sys.stderr, flush=True)
            sim.call(_set_faults(faults))
            await _settle(setup)
            observed = await _observe(setup, truth, WINDOW)
            line = f"{observed.flipped} bytes flipped, {observed.dropped} replies dropped"
            _, available = _availability_text(observed)
            _, wrong = _wrong_text(observed, truth)
            rows += [
                Row(
                    f"bad line in HA, {label}: entities available ({WINDOW:.0f} s, {line})",
                    available,
                    f"≥ {available_target:g} %",
                ),
                Row(
                    f"bad line in HA, {label}: published values wrong",
                    wrong,
                    f"≤ {wrong_target:g} %" if wrong_target is not None else "",
                ),
            ]
    finally:
        sim.call(_set_faults(Faults()))
        sim.call(lambda s: setattr(s, "time_scale", 1.0))

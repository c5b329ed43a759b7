"""Values one corrupted frame cannot move: the median of the newest samples.

The 8-bit checksum lets about one in 256 corrupted frames through, and the plausibility
ranges catch most but not all of them. A measurement published as the median of the last
three samples ignores any single bad frame; a genuine step shows after its second sample.
States (LEDs, device state, switches, mains present) are the sampler's business (it re-reads a
changed one at once on a line that showed corruption) and pass through unchanged.

This runs for every sample (several per second, on a Raspberry Pi): field names are looked
up once per model class and the median of a handful of numbers is taken by sorting them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from typing import Any, TypeVar

from .messages import ACInfo
from .status import MAINS_PRESENT_VOLTAGE, DeviceStatus, evolve

WINDOW = 3

_M = TypeVar("_M")


_FIELD_NAMES: dict[type[Any], tuple[str, ...]] = {}


def _field_names(model_type: type[Any]) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(model_type)
    if names is None:
        names = _FIELD_NAMES[model_type] = tuple(field.name for field in fields(model_type))
    return names


def _median_of(values: Sequence[Any]) -> Any:
    """The median of the floats among ``values`` (as ``statistics.median``); None without any."""
    numbers = sorted(value for value in values if isinstance(value, float))
    count = len(numbers)
    if not count:
        return None
    middle = count // 2
    return numbers[middle] if count % 2 else (numbers[middle - 1] + numbers[middle]) / 2


def _median_model(latest: _M, history: Sequence[_M | None]) -> _M:
    """``latest`` with each float field replaced by its median over ``history`` (frozen models)."""
    present = [model for model in history if model is not None]
    if len(present) < WINDOW:
        return latest
    changes: dict[str, Any] = {}
    model_type: type[Any] = type(latest)
    for name in _field_names(model_type):
        value = getattr(latest, name)
        if not isinstance(value, float):
            continue  # states and counts stay as the newest reply says
        median = _median_of([getattr(model, name) for model in present])
        if median is not None and median != value:
            changes[name] = median
    return evolve(latest, **changes) if changes else latest


def robust_status(window: Sequence[DeviceStatus]) -> DeviceStatus:
    """The newest status with its measurements replaced by medians over ``window``."""
    latest = window[-1]
    if len(window) < WINDOW:
        return latest
    recent = list(window)[-WINDOW:]
    changes: dict[str, Any] = {}
    if latest.dc is not None:
        changes["dc"] = _median_model(latest.dc, [status.dc for status in recent])
    ac: dict[int, ACInfo] = {}
    for phase, newest in latest.ac.items():
        median = _median_model(newest, [status.ac.get(phase) for status in recent])
        # Mains lost or back is a state the sampler confirmed with a second frame: it shows at
        # once, not after the median has caught up.
        crossed = (median.mains_voltage >= MAINS_PRESENT_VOLTAGE) != (
            newest.mains_voltage >= MAINS_PRESENT_VOLTAGE
        )
        ac[phase] = newest if crossed else median
    changes["ac"] = ac
    ram: dict[int, float | None] = {}
    for var_id, value in latest.ram.items():
        history = [status.ram.get(var_id) for status in recent]
        ram[var_id] = value if value is None or None in history else _median_of(history)
    changes["ram"] = ram
    return evolve(latest, **changes)

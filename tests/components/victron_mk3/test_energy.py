"""Energy counters: integrated from every sample, kept over restarts, never stepping back."""

from __future__ import annotations

import asyncio
import math

from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT, STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant, State
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, mock_restore_cache_with_extra_data

from custom_components.victron_mk3.coordinator import VictronMk3Coordinator
from custom_components.victron_mk3.energy import (
    JOULES_PER_KWH,
    MAX_GAP_SECONDS,
    EnergyIntegrator,
    highest_kwh,
)
from custom_components.victron_mk3.vebus_mk3.simulator import SimulatorThread

from .common import unplug, wait_until

KEYS = ("battery_charged_energy", "battery_discharged_energy", "ac_input_energy", "ac_output_energy")


@pytest.fixture
def platforms() -> list[Platform]:
    """Sensors only."""
    return [Platform.SENSOR]


def _kwh(hass: HomeAssistant, key: str) -> float:
    state = hass.states.get(f"sensor.victron_mk3_{key}")
    assert state is not None, key
    return float(state.state)


async def _publish(hass: HomeAssistant, coordinator: VictronMk3Coordinator) -> None:
    await coordinator.async_refresh()
    await hass.async_block_till_done()


# ---- the integrator itself ---------------------------------------------------------


def test_trapezoid() -> None:
    """1 kW for an hour in 1 s steps is 1 kWh; a ramp counts its mean."""
    energy = EnergyIntegrator()
    for second in range(3601):
        energy.add(float(second), 1000.0)
    assert energy.total_kwh == pytest.approx(1.0)
    ramp = EnergyIntegrator()
    ramp.add(0.0, 0.0)
    ramp.add(2.0, 3600.0)
    assert ramp.total_kwh == pytest.approx(3600 * 2 / 2 / JOULES_PER_KWH)


def test_gaps_repeats_and_negative_power() -> None:
    """Long gaps, repeated samples, clock steps and negative power add nothing."""
    energy = EnergyIntegrator(2.0)
    energy.add(0.0, 1000.0)
    energy.add(MAX_GAP_SECONDS + 1, 1000.0)  # a reconnect: not bridged
    assert energy.total_kwh == 2.0
    energy.add(MAX_GAP_SECONDS + 1, 1000.0)  # the same sample again
    assert energy.total_kwh == 2.0
    energy.add(1.0, 1000.0)  # time going backwards
    assert energy.total_kwh == 2.0
    energy.add(2.0, -500.0)  # power the other way: counted by the other counter
    energy.add(3.0, -500.0)
    assert energy.total_kwh == pytest.approx(2.0 + 1000 / 2 / JOULES_PER_KWH)
    energy.add(4.0, None)  # unknown power: nothing, and the next sample starts afresh
    energy.add(5.0, 1000.0)
    assert energy.total_kwh == pytest.approx(2.0 + 1000 / 2 / JOULES_PER_KWH)
    assert EnergyIntegrator(-1.0).total_kwh == 0.0


@pytest.mark.parametrize(
    ("taken_at", "power_w"),
    [(None, 1000.0), (math.nan, 1000.0), (1.0, math.nan), (1.0, math.inf), (math.inf, 1000.0)],
)
def test_sample_of_unknown_age_or_power(taken_at: float | None, power_w: float) -> None:
    """A sample without a usable time or power counts nothing and is not bridged; the total stays a number."""
    energy = EnergyIntegrator(2.0)
    energy.add(0.0, 1000.0)
    energy.add(taken_at, power_w)
    energy.add(2.0, 1000.0)
    assert energy.total_kwh == 2.0
    energy.add(3.0, 1000.0)
    assert energy.total_kwh == pytest.approx(2.0 + 1000 / JOULES_PER_KWH)
    assert EnergyIntegrator(math.nan).total_kwh == 0.0


def test_interrupt() -> None:
    """After an interruption (link down) the next sample starts afresh, even within the gap limit."""
    energy = EnergyIntegrator()
    energy.add(0.0, 1000.0)
    energy.interrupt()
    energy.add(1.0, 1000.0)
    assert energy.total_kwh == 0.0
    energy.add(2.0, 1000.0)
    assert energy.total_kwh == pytest.approx(1000 / JOULES_PER_KWH)


def test_highest_recorded_kwh() -> None:
    """Recorded totals in any energy unit, in kWh; text, unavailable and other units are skipped."""
    entity_id = "sensor.victron_mk3_ac_output_energy"

    def recorded(state: str, unit: str | None = "kWh") -> State:
        return State(entity_id, state, {ATTR_UNIT_OF_MEASUREMENT: unit} if unit else {})

    assert highest_kwh([]) is None
    assert highest_kwh([recorded(STATE_UNAVAILABLE), recorded("12.5", None), recorded("9", "W")]) is None
    assert highest_kwh([recorded("12.5"), recorded(STATE_UNAVAILABLE), recorded("12.25")]) == 12.5
    # The user changed the display unit to Wh after the 12.5 kWh were recorded.
    assert highest_kwh([recorded("12.5"), recorded("12600", "Wh"), recorded("nan")]) == pytest.approx(12.6)


# ---- with the simulated device -------------------------------------------------------


async def test_counts_the_model_powers(
    hass: HomeAssistant, coordinator: VictronMk3Coordinator, simulator: SimulatorThread
) -> None:
    """Charging from the grid: input, output and charged energy grow at the model's powers."""
    status = coordinator.sampler.latest
    assert status is not None
    powers = {
        "battery_charged_energy": status.dc.power,
        "ac_input_energy": status.ac_input_power,
        "ac_output_energy": status.ac_output_power,
    }
    assert powers["ac_output_energy"] == pytest.approx(350.0, rel=0.05)
    await _publish(hass, coordinator)
    loop = asyncio.get_running_loop()
    before, started = {key: _kwh(hass, key) for key in KEYS}, loop.time()
    await asyncio.sleep(2.0)
    await _publish(hass, coordinator)
    elapsed = loop.time() - started
    for key, power in powers.items():
        assert power is not None
        assert power > 0
        expected = power * elapsed / JOULES_PER_KWH
        assert _kwh(hass, key) - before[key] == pytest.approx(expected, rel=0.3), key
    assert _kwh(hass, "battery_discharged_energy") == 0.0


async def test_restored_over_restart(hass: HomeAssistant, mock_config_entry: MockConfigEntry) -> None:
    """The totals go on from where they were before the restart."""
    mock_restore_cache_with_extra_data(
        hass,
        [
            (
                State(f"sensor.victron_mk3_{key}", str(10.0 + index)),
                {"native_value": 10.0 + index, "native_unit_of_measurement": "kWh"},
            )
            for index, key in enumerate(KEYS)
        ],
    )
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    coordinator: VictronMk3Coordinator = mock_config_entry.runtime_data
    await asyncio.sleep(1.5)  # a few 0.4 s cycles: samples to integrate
    await _publish(hass, coordinator)
    for index, key in enumerate(KEYS):
        assert 10.0 + index <= _kwh(hass, key) < 10.0 + index + 0.001, key
    assert _kwh(hass, "ac_output_energy") > 13.0


@pytest.mark.parametrize("outage", ["unplugged", "silent"])
async def test_short_outage_not_bridged(
    hass: HomeAssistant, coordinator: VictronMk3Coordinator, simulator: SimulatorThread, outage: str
) -> None:
    """An outage shorter than the gap limit counts nothing: the power in between is unknown."""
    status = coordinator.sampler.latest
    assert status is not None
    assert status.ac_output_power is not None
    await _publish(hass, coordinator)
    before = _kwh(hass, "ac_output_energy")
    loop = asyncio.get_running_loop()
    started = loop.time()
    if outage == "unplugged":
        await unplug(simulator, coordinator.client)
    else:  # the device stops answering; the port stays open
        simulator.call(lambda sim: setattr(sim.faults, "drop_probability", 1.0))
        await wait_until(lambda: not coordinator.last_update_success, MAX_GAP_SECONDS)
    await asyncio.sleep(1.0)
    if outage == "unplugged":
        simulator.replug()
    else:
        simulator.call(lambda sim: setattr(sim.faults, "drop_probability", 0.0))
    await wait_until(lambda: coordinator.last_update_success, MAX_GAP_SECONDS)
    elapsed = loop.time() - started
    assert elapsed < MAX_GAP_SECONDS
    await _publish(hass, coordinator)
    gained_seconds = (_kwh(hass, "ac_output_energy") - before) * JOULES_PER_KWH / status.ac_output_power
    assert gained_seconds < elapsed / 2


async def test_unplug_and_replug(
    hass: HomeAssistant, coordinator: VictronMk3Coordinator, simulator: SimulatorThread
) -> None:
    """No counting while away, no jump on return, and one listener only (no double counting)."""
    await _publish(hass, coordinator)
    before = {key: _kwh(hass, key) for key in KEYS}
    await unplug(simulator, coordinator.client)
    await wait_until(
        lambda: hass.states.get("sensor.victron_mk3_ac_output_energy").state == STATE_UNAVAILABLE
    )
    simulator.replug()
    await wait_until(lambda: coordinator.last_update_success, 6)
    await _publish(hass, coordinator)
    after_replug = {key: _kwh(hass, key) for key in KEYS}
    for key in KEYS:
        assert after_replug[key] >= before[key], key

    # The rate after the reconnect is the model's, not twice it.
    status = coordinator.sampler.latest
    assert status is not None
    assert status.ac_output_power is not None
    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.sleep(2.0)
    await _publish(hass, coordinator)
    expected = status.ac_output_power * (loop.time() - started) / JOULES_PER_KWH
    gained = _kwh(hass, "ac_output_energy") - after_replug["ac_output_energy"]
    assert gained == pytest.approx(expected, rel=0.3)


async def test_never_steps_back(
    hass: HomeAssistant, coordinator: VictronMk3Coordinator, simulator: SimulatorThread
) -> None:
    """Off grid the input power is zero and the battery discharges: no counter decreases."""
    await _publish(hass, coordinator)
    seen = {key: _kwh(hass, key) for key in KEYS}
    simulator.call(lambda sim: setattr(sim.model, "ac_input_present", False))
    for _ in range(6):
        await asyncio.sleep(0.3)
        await _publish(hass, coordinator)
        for key in KEYS:
            value = _kwh(hass, key)
            assert value >= seen[key], key
            seen[key] = value
    assert seen["battery_discharged_energy"] > 0

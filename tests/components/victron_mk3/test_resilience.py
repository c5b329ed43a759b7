"""A bad line costs a value, not the device; states publish at once; the link task heals itself.

Real Home Assistant harness, the simulator behind a real pty as the device.
"""

from __future__ import annotations

import asyncio
import logging
from unittest.mock import patch

from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
import pytest

from custom_components.victron_mk3.const import DOMAIN
from custom_components.victron_mk3.coordinator import VictronMk3Coordinator
from custom_components.victron_mk3.models import PanelMode
from custom_components.victron_mk3.vebus_mk3 import DeviceStatus
from custom_components.victron_mk3.vebus_mk3.sampler import Sampler
from custom_components.victron_mk3.vebus_mk3.simulator import MultiplusModel, SimulatorThread
from custom_components.victron_mk3.vebus_mk3.simulator.quirks import DeviceQuirks

from .common import wait_until

BATTERY_VOLTAGE = "sensor.victron_mk3_battery_voltage"
INPUT_VOLTAGE = "sensor.victron_mk3_ac_input_voltage"
OUTPUT_POWER = "sensor.victron_mk3_ac_output_power"
MAINS_PRESENT = "binary_sensor.victron_mk3_mains_present"


async def test_one_percent_flipped_bytes_keep_the_device_available(
    hass: HomeAssistant, coordinator: VictronMk3Coordinator, simulator: SimulatorThread
) -> None:
    """1 % of the bytes flipped both ways for several seconds: always available, never wrong."""
    truth = {entity: hass.states.get(entity).state for entity in (BATTERY_VOLTAGE, INPUT_VOLTAGE)}

    def noisy(on: bool) -> None:
        def apply(sim: object) -> None:
            faults = sim.faults  # type: ignore[attr-defined]
            faults.flip_probability = faults.request_flip_probability = 0.01 if on else 0.0

        simulator.call(apply)

    noisy(True)
    seen: list[dict[str, str]] = []
    loop = asyncio.get_running_loop()
    started = loop.time()
    while loop.time() - started < 8:
        seen.append({entity: hass.states.get(entity).state for entity in truth})
        await asyncio.sleep(0.1)
    noisy(False)
    assert simulator.call(lambda sim: sim.reply_bytes_flipped + sim.request_bytes_flipped) > 5
    assert coordinator.sampler.stats.lost_replies > 0  # the noise did cost replies ...
    assert all(states == truth for states in seen)  # ... but never availability or a value
    assert coordinator.fault is None


async def test_a_state_change_publishes_at_once_measurements_wait(
    hass: HomeAssistant, coordinator: VictronMk3Coordinator, simulator: SimulatorThread
) -> None:
    """Mains lost: the binary sensor follows within a cycle or two; the power figure keeps its interval."""
    coordinator.publish_interval = 3600  # whatever publishes sooner is a state change
    await asyncio.sleep(0.5)  # a publish that was already due has happened
    power = hass.states.get(OUTPUT_POWER).state
    assert hass.states.get(MAINS_PRESENT).state == STATE_ON
    simulator.call(lambda sim: setattr(sim.model, "load_w", 380.0))  # +30 W: not a significant step
    simulator.call(lambda sim: setattr(sim.model, "ac_input_present", False))
    await wait_until(lambda: hass.states.get(MAINS_PRESENT).state == STATE_OFF, 5)
    assert hass.states.get(OUTPUT_POWER).state == power  # written at the (hour-long) interval only


async def test_a_significant_power_step_publishes_before_the_interval(
    hass: HomeAssistant, coordinator: VictronMk3Coordinator, simulator: SimulatorThread
) -> None:
    """A kettle comes on (+2 kW): the power shows within a few samples, not at the next interval."""
    coordinator.publish_interval = 3600
    await asyncio.sleep(1.5)  # past the early-publish spacing of the last publish
    before = float(hass.states.get(OUTPUT_POWER).state)
    assert before == pytest.approx(350, abs=20)
    simulator.call(lambda sim: setattr(sim.model, "load_w", 2350.0))
    await wait_until(lambda: float(hass.states.get(OUTPUT_POWER).state) > 2000, 10)


async def test_a_failing_link_task_is_logged_once_and_restarted(
    hass: HomeAssistant,
    coordinator: VictronMk3Coordinator,
    simulator: SimulatorThread,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A bug inside the sampler (here: a RuntimeError) must not leave frozen entities behind."""
    real_cycle = Sampler._cycle
    failures = [RuntimeError("simulated bug")]

    async def failing_once(self: Sampler) -> None:
        if failures:
            raise failures.pop()
        await real_cycle(self)

    with caplog.at_level(logging.ERROR), patch.object(Sampler, "_cycle", failing_once):
        await wait_until(lambda: not failures, 5)
        await wait_until(lambda: coordinator.fault is None and coordinator.last_update_success, 8)
    assert caplog.text.count("link task failed") == 1
    assert hass.states.get(BATTERY_VOLTAGE).state != STATE_UNAVAILABLE


async def test_a_broken_sample_listener_is_contained(
    hass: HomeAssistant, coordinator: VictronMk3Coordinator, simulator: SimulatorThread
) -> None:
    def broken(_status: DeviceStatus) -> None:
        raise RuntimeError("a listener's bug")

    coordinator.async_add_sample_listener(broken)
    coordinator.publish_interval = 0.5
    simulator.call(lambda sim: setattr(sim.model, "load_w", 1111.0))
    # Publishing goes on past the broken listener: the new load reaches the entity.
    await wait_until(lambda: hass.states.get(OUTPUT_POWER).state == "1111", 5)
    assert coordinator.last_update_success


async def test_no_new_sample_makes_the_entities_unavailable(
    hass: HomeAssistant, coordinator: VictronMk3Coordinator, simulator: SimulatorThread
) -> None:
    """Sampling stuck without a fault (nothing reported it): the age check takes the entities down."""
    stuck = asyncio.Event()

    async def hanging(_self: Sampler) -> None:
        await stuck.wait()

    with patch.object(Sampler, "_cycle", hanging):
        await wait_until(lambda: hass.states.get(BATTERY_VOLTAGE).state == STATE_UNAVAILABLE, 10)
        assert not coordinator.last_update_success
    stuck.set()


@pytest.mark.parametrize("model", [MultiplusModel(current_limit=12.3, max_on_ignored_limit=True)])
async def test_firmware_that_takes_ignore_for_maximum_gets_its_limit_back(
    hass: HomeAssistant,
    coordinator: VictronMk3Coordinator,
    simulator: SimulatorThread,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A mode change sends "leave the limit" (0x8000); a unit that set its maximum is put right."""
    with caplog.at_level(logging.WARNING):
        await coordinator.async_set_remote_panel_state(PanelMode.CHARGER_ONLY, None)
    assert simulator.call(lambda sim: sim.model.current_limit) == pytest.approx(12.3)
    state_frames = simulator.call(lambda sim: [p for p in sim.received if p[:2] == b"\xffS"])
    assert [frame[3:5] for frame in state_frames] == [b"\x00\x80", bytes((123, 0))]
    assert "restoring it" in caplog.text


async def test_a_mode_change_leaves_the_limit_to_the_device(
    hass: HomeAssistant, coordinator: VictronMk3Coordinator, simulator: SimulatorThread
) -> None:
    """One S frame, limit field 0x8000: whatever another panel set just before is kept."""
    simulator.call(lambda sim: setattr(sim.model, "current_limit", 7.5))  # another panel, just now
    await coordinator.async_set_remote_panel_state(PanelMode.CHARGER_ONLY, None)
    assert simulator.call(lambda sim: sim.model.current_limit) == pytest.approx(7.5)
    state_frames = simulator.call(lambda sim: [p for p in sim.received if p[:2] == b"\xffS"])
    assert [frame[3:5] for frame in state_frames] == [b"\x00\x80"]


@pytest.mark.parametrize("model", [MultiplusModel(quirks=DeviceQuirks(drops_standby_flag=True))])
async def test_an_interface_that_drops_standby_gets_a_repair_issue(
    hass: HomeAssistant, coordinator: VictronMk3Coordinator, simulator: SimulatorThread
) -> None:
    """Three writes that do not stick, then a repair issue instead of a loop; cleared when wished off."""
    coordinator.sampler.slow_interval = 0.0
    coordinator.sampler.standby.base_delay = 0.0
    registry = ir.async_get(hass)
    issue_id = f"standby_not_kept_{coordinator.config_entry.entry_id}"
    with pytest.raises(HomeAssistantError):  # the echo shows the bit, the read-back does not
        await coordinator.async_set_standby(True)
    coordinator.async_restore_standby(True)  # the wish stands (as after a restart)
    await wait_until(lambda: registry.async_get_issue(DOMAIN, issue_id) is not None, 10)
    cycles = coordinator.sampler.stats.cycles
    await wait_until(lambda: coordinator.sampler.stats.cycles >= cycles + 5, 10)
    writes = simulator.call(lambda sim: [p for p in sim.received if p[:2] == b"\xffH" and len(p) > 2])
    assert len(writes) == 4  # the user's write, then three re-assertions and no more
    await coordinator.async_set_standby(False)
    await wait_until(lambda: registry.async_get_issue(DOMAIN, issue_id) is None, 3)


def test_what_counts_as_a_significant_step() -> None:
    """At least 100 W and a tenth of the value before; drift on a large figure waits."""
    from custom_components.victron_mk3.models import significant_step
    from custom_components.victron_mk3.vebus_mk3.const import RamVar

    def output(watts: float | None) -> DeviceStatus:
        return DeviceStatus(ram={RamVar.OUTPUT_POWER: watts})

    assert significant_step(output(500), output(637))  # +137 W on 500 W
    assert not significant_step(output(500), output(580))  # +80 W: below 100 W
    assert not significant_step(output(5000), output(5300))  # +6 %: drift on a large load
    assert significant_step(output(5000), output(3000))  # -40 %
    assert not significant_step(output(None), output(3000))  # nothing to compare with

"""The real client against the simulated MK3 + Multiplus II over a real pty."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from custom_components.victron_mk3.vebus_mk3 import (
    ChargeAction,
    ChargeStage,
    DeviceState,
    InterfaceFlags,
    LinkEvent,
    LinkIOError,
    Mk3Client,
    NoAnswerError,
    NotConnectedError,
    PortInaccessibleError,
    RamVar,
    StatusReader,
    SwitchRegister,
    SwitchState,
)
from custom_components.victron_mk3.vebus_mk3.simulator import MultiplusModel, Simulator


async def test_version_matches_the_real_capture(client: Mk3Client) -> None:
    version = await client.get_version()
    assert version.version == 1170216
    assert version.mode == 0x42


async def test_status_matches_the_model(sim: Simulator, client: Mk3Client) -> None:
    flows = sim.model.flows()
    status = await StatusReader(client).read()
    assert status.dc.voltage == pytest.approx(flows.battery_voltage, abs=0.01)
    assert status.dc.current == pytest.approx(flows.battery_current, abs=0.1)
    assert status.ac[1].mains_voltage == pytest.approx(flows.phase.mains_voltage, abs=0.01)
    assert status.ac[1].mains_current == pytest.approx(flows.phase.mains_current, abs=0.01)
    assert status.ac[1].inverter_voltage == pytest.approx(flows.phase.output_voltage, abs=0.01)
    assert status.ac[1].mains_frequency == pytest.approx(flows.phase.mains_frequency, abs=0.3)
    assert status.device_state is flows.state
    assert status.leds.on == flows.leds_on
    assert status.leds.blink == flows.leds_blink
    assert status.ac_output_power == pytest.approx(flows.phase.output_power, abs=1)
    assert status.ac_input_power == pytest.approx(flows.phase.input_power, abs=1)
    assert status.config.current_limit == pytest.approx(16.0)
    assert (status.config.minimum_current_limit, status.config.maximum_current_limit) == (3.6, 50.0)
    assert list(status.ac) == [1]


async def test_inverting_reports_signed_inverter_current(sim: Simulator, client: Mk3Client) -> None:
    """With mains gone the Multi inverts; variable 3's quirk sends it negative."""
    sim.model.ac_input_present = False
    ac = await client.get_ac(1)
    flows = sim.model.flows()
    assert ac.mains_frequency is None  # period byte 0: no waveform
    assert ac.inverter_current == pytest.approx(flows.phase.inverter_current, abs=0.01)
    assert ac.inverter_current < 0
    assert client.scales[RamVar.INVERTER_CURRENT].signed


async def test_set_state_persists_and_clamps(sim: Simulator, client: Mk3Client) -> None:
    await client.set_state(SwitchState.CHARGER_ONLY, 10.5)
    config = await client.get_config()
    assert sim.model.switch_state is SwitchState.CHARGER_ONLY
    assert config.current_limit == pytest.approx(10.5)
    assert SwitchRegister.REMOTE_CHARGE in config.switch_register
    assert SwitchRegister.REMOTE_INVERT not in config.switch_register

    await client.set_state(SwitchState.ON, 500)
    assert (await client.get_config()).current_limit == pytest.approx(50.0)
    await client.set_state(SwitchState.ON, 0)
    assert (await client.get_config()).current_limit == pytest.approx(3.6)
    await client.set_state(SwitchState.INVERTER_ONLY, None)  # None: leave the limit as it is
    config = await client.get_config()
    assert config.current_limit == pytest.approx(3.6)
    assert SwitchRegister.REMOTE_INVERT in config.switch_register
    assert sim.count("S") == 4


async def test_interface_flags(sim: Simulator, client: Mk3Client) -> None:
    flags = await client.get_interface_flags()
    assert flags == InterfaceFlags.PANEL_DETECT | InterfaceFlags.UNDOCUMENTED
    confirmed = await client.set_interface_flags(flags | InterfaceFlags.STANDBY)
    assert InterfaceFlags.STANDBY in confirmed
    assert InterfaceFlags.STANDBY in await client.get_interface_flags()
    assert sim.model.interface_flags & InterfaceFlags.STANDBY


async def test_scale_discovery_and_unsupported_soc(tmp_path: Path) -> None:
    model = MultiplusModel(battery_monitor=False)
    async with Simulator(model, link=str(tmp_path / "tty"), time_scale=0.0) as sim:
        client = Mk3Client(sim.url)
        await client.connect()
        values = await client.read_ram([RamVar.STATE_OF_CHARGE, RamVar.OUTPUT_POWER, RamVar.BATTERY_VOLTAGE])
        await client.close()
    assert values[RamVar.STATE_OF_CHARGE] is None
    assert not client.scales[RamVar.STATE_OF_CHARGE].supported
    assert values[RamVar.BATTERY_VOLTAGE] == pytest.approx(model.flows().battery_voltage, abs=0.01)
    assert values[RamVar.OUTPUT_POWER] == pytest.approx(model.flows().phase.output_power, abs=1)


async def test_soc_with_battery_monitor(sim: Simulator, client: Mk3Client) -> None:
    values = await client.read_ram([RamVar.STATE_OF_CHARGE])
    assert values[RamVar.STATE_OF_CHARGE] == pytest.approx(sim.model.soc, abs=0.005)


async def test_scales_are_fetched_once(sim: Simulator, client: Mk3Client) -> None:
    await client.get_dc()
    first = len(sim.received)
    await client.get_dc()
    await client.get_ac(1)
    assert len(sim.received) == first + 2


async def test_absent_phases_are_discovered_once(sim: Simulator, client: Mk3Client) -> None:
    with pytest.raises(NoAnswerError, match="F2"):
        await client.get_ac(2)
    reader = StatusReader(client)
    assert await reader.discover_phases() == [1]
    sim.clear_received()
    await reader.read()
    assert sim.count("F") == 3  # F0, F1, F5 — no timeouts on L2 every cycle


async def test_three_phase_system(tmp_path: Path) -> None:
    async with Simulator(MultiplusModel(phases=3), link=str(tmp_path / "tty"), time_scale=0.0) as sim:
        client = Mk3Client(sim.url)
        await client.connect()
        status = await StatusReader(client).read()
        await client.close()
    assert sorted(status.ac) == [1, 2, 3]
    assert status.ac[3].phase == 3


async def test_one_lost_reply_is_asked_for_again(sim: Simulator, client: Mk3Client) -> None:
    sim.faults.drop_next = 1
    assert (await client.get_leds()).on == sim.model.flows().leds_on
    assert client.stats.timeouts == 1


async def test_no_answer_after_the_retry(sim: Simulator, client: Mk3Client) -> None:
    sim.faults.drop_next = 2
    with pytest.raises(NoAnswerError, match="L"):
        await client.get_leds()
    assert client.stats.timeouts == 2
    assert any(event.kind == "timeout" for event in client.events)
    assert (await client.get_leds()).on == sim.model.flows().leds_on


async def test_slow_config_frame_within_its_timeout(sim: Simulator, client: Mk3Client) -> None:
    sim.faults.reply_delay = 0.8  # slower than the 500 ms default, inside the F 5 timeout
    assert (await client.get_config()).current_limit == pytest.approx(16.0)
    assert client.stats.timeouts == 0


async def test_concurrent_callers_are_serialised(sim: Simulator, client: Mk3Client) -> None:
    results = await asyncio.gather(
        client.get_leds(),
        client.get_dc(),
        client.get_ac(1),
        client.get_config(),
        client.get_interface_flags(),
        client.read_ram([RamVar.INVERTER_POWER, RamVar.OUTPUT_POWER]),
        client.get_version(),
    )
    leds, dc, ac, config, flags, ram, version = results
    assert leds.on == sim.model.flows().leds_on
    assert dc.voltage == pytest.approx(sim.model.flows().battery_voltage, abs=0.01)
    assert ac.phase == 1
    assert config.current_limit == pytest.approx(16.0)
    assert InterfaceFlags.PANEL_DETECT in flags
    assert ram[RamVar.OUTPUT_POWER] == pytest.approx(sim.model.flows().phase.output_power, abs=1)
    assert version.version == 1170216


async def test_unsolicited_version_frames_reach_listeners(client: Mk3Client) -> None:
    frames: list[bytes] = []
    remove = client.add_frame_listener(frames.append)
    async with asyncio.timeout(3):
        while not frames:
            await asyncio.sleep(0.05)
    remove()
    assert frames[0][:2] == b"\xffV"
    assert client.version is not None
    assert client.version.version == 1170216


async def test_noise_is_skipped(sim: Simulator, client: Mk3Client) -> None:
    sim.faults.noise_probability = 0.01
    reader = StatusReader(client)
    good = 0
    for _ in range(10):
        try:
            status = await reader.read()
        except NoAnswerError:
            continue
        good += 1
        assert status.dc.voltage == pytest.approx(sim.model.flows().battery_voltage, abs=0.01)
        assert status.config.current_limit == pytest.approx(16.0)
    assert good >= 7
    assert client.decoder_stats.skipped_bytes > 0


async def test_unplug_and_replug(sim: Simulator, client: Mk3Client) -> None:
    events: list[LinkEvent] = []
    client.add_link_listener(events.append)
    await sim.unplug()
    async with asyncio.timeout(2):
        while client.connected:
            await asyncio.sleep(0.02)
    assert [e.kind for e in events] == ["lost"] or [e.kind for e in events] == ["disconnected"]
    with pytest.raises(NotConnectedError):
        await client.get_leds()
    with pytest.raises(PortInaccessibleError):
        await client.connect()
    await sim.replug()
    await client.connect()
    assert (await client.get_version()).version == 1170216


async def test_request_in_flight_fails_at_once_when_the_port_goes(sim: Simulator, client: Mk3Client) -> None:
    sim.faults.reply_delay = 0.4
    request = asyncio.ensure_future(client.get_config())
    await asyncio.sleep(0.1)
    await sim.unplug()
    with pytest.raises(LinkIOError):
        await request


async def test_idle_detection_when_the_device_sleeps(tmp_path: Path) -> None:
    model = MultiplusModel(switch_state=SwitchState.OFF, ac_input_present=False)
    async with Simulator(model, link=str(tmp_path / "tty"), sleep_delay=0.2, time_scale=0.0) as sim:
        client = Mk3Client(sim.url, idle_timeout=1.0)
        await client.connect()
        kinds: list[str] = []
        client.add_link_listener(lambda event: kinds.append(event.kind))
        async with asyncio.timeout(4):
            while not client.idle:
                await asyncio.sleep(0.05)
        with pytest.raises(NoAnswerError):
            await client.get_version()
        sim.model.ac_input_present = True  # mains returns: the Multi wakes
        async with asyncio.timeout(4):
            while client.idle:
                await asyncio.sleep(0.05)
        await client.close()
    assert kinds[0] == "idle"
    assert "active" in kinds


async def test_winmon_mode_is_detected_and_recovered(
    sim: Simulator, client: Mk3Client, caplog: pytest.LogCaptureFixture
) -> None:
    """Short commands unanswered while the interface keeps sending frames: long-frame mode."""
    sim.version_interval = 0.2
    sim.model.winmon_mode = True
    with pytest.raises(NoAnswerError):
        await client.get_leds()  # two attempts: not enough to act on yet
    assert sim.model.winmon_mode
    leds = await client.get_leds()  # third attempt fails, recovery, then the answer
    assert leds.on == sim.model.flows().leds_on
    assert not sim.model.winmon_mode
    assert [e.kind for e in client.events if e.kind.startswith("winmon")] == ["winmon_recovered"]
    assert "long-frame mode" in caplog.text
    assert sim.model.switch_state is SwitchState.ON  # the init variant is not a state change
    assert sim.model.current_limit == pytest.approx(16.0)


async def test_winmon_recovery_whose_own_reply_is_lost_still_recovers(
    sim: Simulator, client: Mk3Client
) -> None:
    """The init frame's reply lost on a busy line: the interface left the mode all the same."""
    sim.version_interval = 0.2
    sim.model.winmon_mode = True
    with pytest.raises(NoAnswerError):
        await client.get_leds()
    sim.faults.drop_next = 1  # in long-frame mode only the init frame is answered: this drops it
    leds = await client.get_leds()
    assert leds.on == sim.model.flows().leds_on
    assert [e.kind for e in client.events if e.kind.startswith("winmon")] == ["winmon_recovered"]


async def test_winmon_recovery_carries_the_last_state_and_limit(sim: Simulator, client: Mk3Client) -> None:
    """Firmware that ignores the do-not-forward flag applies the recovery frame's state and limit:
    they are the ones the device already had, so neither mode nor limit changes."""
    sim.model.quirks = dataclasses.replace(sim.model.quirks, applies_do_not_forward_s=True)
    await client.set_state(SwitchState.CHARGER_ONLY, 12.5)
    await client.get_config()  # the client now knows the mode and limit
    sim.version_interval = 0.2
    sim.model.winmon_mode = True
    with pytest.raises(NoAnswerError):
        await client.get_leds()
    await client.get_leds()  # recovered
    assert not sim.model.winmon_mode
    recovery = [p for p in sim.received if p[:2] == b"\xffS" and p[6] == 0x90]
    assert recovery == [b"\xffS" + bytes((1, 125, 0, 0x01, 0x90, 0x00, 0x01))]
    assert sim.model.switch_state is SwitchState.CHARGER_ONLY
    assert sim.model.current_limit == pytest.approx(12.5)


async def test_a_sleeping_device_is_not_mistaken_for_winmon(sim: Simulator, client: Mk3Client) -> None:
    """Silence (no frames at all) never triggers the recovery frame."""
    sim.faults.drop_probability = 1.0
    sim.version_interval = 60
    for _ in range(3):
        with pytest.raises(NoAnswerError):
            await client.get_leds()
    assert sim.count("S") == 0


async def test_tcp_transport(tmp_path: Path) -> None:
    async with Simulator(MultiplusModel(), tcp_port=0, time_scale=0.0) as sim:
        assert sim.tcp_url is not None
        client = Mk3Client(sim.tcp_url)
        await client.connect()
        assert (await client.get_version()).version == 1170216
        await client.close()


async def test_close_leaves_no_task_behind(sim: Simulator) -> None:
    before = asyncio.all_tasks()
    client = Mk3Client(sim.url)
    await client.connect()
    await StatusReader(client).read()
    await client.close()
    await client.close()  # idempotent
    assert not client.connected
    assert asyncio.all_tasks() == before
    with pytest.raises(NotConnectedError):
        await client.get_version()


async def test_charge_stage_and_forcing_float(sim: Simulator, client: Mk3Client) -> None:
    sim.model.charge_stage = ChargeStage.ABSORPTION
    report = await client.get_device_state()
    assert report.state is DeviceState.CHARGE
    assert report.charge_stage is ChargeStage.ABSORPTION
    assert (report.state_code, report.charge_stage_code) == (9, 2)
    report = await client.force_charge_stage(ChargeAction.FLOAT)
    assert report.charge_stage is ChargeStage.FLOAT
    assert sim.model.charge_stage is ChargeStage.FLOAT


async def test_charge_stage_is_init_while_inverting(sim: Simulator, client: Mk3Client) -> None:
    sim.model.ac_input_present = False
    report = await client.get_device_state()
    assert report.state is DeviceState.INVERT_FULL
    assert report.charge_stage is ChargeStage.INIT


async def test_multi_firmware_version(sim: Simulator, client: Mk3Client) -> None:
    assert await client.get_firmware_version() == sim.model.firmware_version == 2623506

"""Multi-unit systems over a real pty: topology, unit selection, snapshot rounds, per-phase power.

Profiles: ``three_phase`` (three units, one per phase, unequal loads), ``parallel`` (two units on
L1, 60/40), the default single MultiPlus-II (answers F 7 with itself only) and the MK2 profile
(does not answer F 7). Per-phase real power must match the simulated device within 1 %.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
import contextlib
import dataclasses
from pathlib import Path
import time

import pytest

from custom_components.victron_mk3.vebus_mk3 import Mk3Client, UnsupportedError
from custom_components.victron_mk3.vebus_mk3.sampler import Sampler
from custom_components.victron_mk3.vebus_mk3.simulator import DeviceQuirks, Simulator, make_model
from custom_components.victron_mk3.vebus_mk3.status import DeviceStatus
from custom_components.victron_mk3.vebus_mk3.topology import PhaseSource, assign_phases, build_topology
from custom_components.victron_mk3.vebus_mk3.unit_requests import parse_unit_info, read_snapshot
from custom_components.victron_mk3.vebus_mk3.units import UNIT_INTERVAL
from custom_components.victron_mk3.vebus_mk3.variables import RamVarInfo

from .helpers import running, wait_for_cycles

WAIT = 20.0


@contextlib.asynccontextmanager
async def sampling(tmp_path: Path, profile: str, **quirks: bool) -> AsyncIterator[tuple[Simulator, Sampler]]:
    """A profile's simulator (frozen physics) and a running sampler on a real pty."""
    model = make_model(profile)
    if quirks:
        model.quirks = DeviceQuirks(**{**vars(model.quirks), **quirks})
    async with Simulator(model, link=str(tmp_path / "tty"), time_scale=0.0) as sim:
        client = Mk3Client(sim.url)
        await client.connect()
        sampler = Sampler(client)
        try:
            async with running(sampler):
                yield sim, sampler
        finally:
            await client.close()


async def wait_for(
    sampler: Sampler, check: Callable[[DeviceStatus], bool], timeout: float = WAIT
) -> DeviceStatus:
    """Until the newest status satisfies ``check`` (a callable); returns that status."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = sampler.latest
        if status is not None and check(status):
            return status
        await asyncio.sleep(0.05)
    raise AssertionError(f"condition not met within {timeout} s; last {sampler.latest}")


def _close(actual: float | None, expected: float) -> bool:
    return actual is not None and abs(actual - expected) <= max(1.0, abs(expected) * 0.01)


async def test_three_phase_finds_every_unit_and_sums_real_power_per_phase(tmp_path: Path) -> None:
    async with sampling(tmp_path, "three_phase") as (sim, sampler):
        status = await wait_for(sampler, lambda s: len(s.units) == 3)
        topology = sampler.units.topology
        assert topology is not None
        assert [unit.label for unit in topology.units] == ["L1 master", "L2 master", "L3 master"]
        assert topology.phase_source is PhaseSource.ADDRESS_CONFIRMED
        assert dict(topology.unit_counts) == {1: 1, 2: 1, 3: 1}
        assert [unit.serial for unit in topology.units] == ["11000001", "11000002", "11000003"]
        assert sampler.units.firmware == {0: 2623506, 1: 2623507, 2: 2623506}
        flows = sim.model.flows()
        for phase in (1, 2, 3):
            power = status.phase_power(phase)
            expected = flows.of_phase(phase)
            assert power is not None
            assert _close(power.input, expected.input_power), (phase, power)
            assert _close(power.output, expected.output_power), (phase, power)
            assert _close(power.inverter, expected.inverter_power), (phase, power)
        # The loads differ per phase, so a mix-up of phases would show.
        assert status.phase_power(1).output != status.phase_power(2).output  # type: ignore[union-attr]
        assert _close(status.ac_output_power, sum(flows.of_phase(p).output_power for p in (1, 2, 3)))
        # AC currents of each phase still come from the system frames, every cycle.
        assert sorted(status.ac) == [1, 2, 3]
        assert all(reading.coherent for reading in status.units.values())


async def test_parallel_units_are_all_on_l1_whatever_their_address(tmp_path: Path) -> None:
    async with sampling(tmp_path, "parallel") as (sim, sampler):
        status = await wait_for(sampler, lambda s: len(s.units) == 2)
        topology = sampler.units.topology
        assert topology is not None
        assert [unit.label for unit in topology.units] == ["L1 master", "L1 slave 1"]
        assert topology.phase_source is PhaseSource.ONE_PHASE
        assert dict(topology.unit_counts) == {1: 2}
        flows = sim.model.flows().of_phase(1)
        power = status.phase_power(1)
        assert power is not None
        assert _close(power.input, flows.input_power)
        assert _close(power.output, flows.output_power)
        # Each unit carries its own share (60/40 in this profile).
        shares = [status.units[a].output_power / flows.output_power for a in (0, 1)]  # type: ignore[operator]
        assert shares == [pytest.approx(0.6, abs=0.01), pytest.approx(0.4, abs=0.01)]
        assert status.phase_power(2) is None
        # The info frame's factor byte makes the L1 currents the phase's totals.
        assert status.ac[1].mains_current == pytest.approx(flows.mains_current, abs=0.05)


async def test_selection_is_sent_only_when_the_target_changes(tmp_path: Path) -> None:
    async with sampling(tmp_path, "three_phase") as (sim, sampler):
        await wait_for(sampler, lambda s: len(s.units) == 3)
        rounds = sampler.units.stats.rounds
        await wait_for(sampler, lambda _s: sampler.units.stats.rounds >= rounds + 3)
        sim.clear_received()
        start = sampler.units.stats.rounds
        await wait_for(sampler, lambda _s: sampler.units.stats.rounds >= start + 2)
        done = sampler.units.stats.rounds - start
        # Per round: at most one A per unit, plus one back to the master for its own W reads.
        assert 0 < sim.count("A") <= (done + 1) * 4
        assert sim.count("F") >= done  # the system frames and the snapshot triggers go on


async def test_single_unit_costs_nothing_per_cycle(tmp_path: Path) -> None:
    async with sampling(tmp_path, "multiplus2_mk3") as (sim, sampler):
        await wait_for_cycles(sampler, 2)
        topology = sampler.units.topology
        assert topology is not None
        assert not topology.multi
        assert topology.answered
        sim.clear_received()
        cycles = sampler.stats.cycles
        await wait_for_cycles(sampler, cycles + 4)
        multi_unit = [p for p in sim.received if p[1:3] in (b"F\x06", b"F\x07") or p[1:2] == b"A"]
        assert multi_unit == []
        assert not any(len(p) > 2 and p[2] == 0x38 for p in sim.received)
        assert sampler.latest is not None
        assert sampler.latest.units == {}
        assert sampler.latest.ac_input_power is not None  # from the usual RAM read


async def test_a_device_that_does_not_answer_f7_is_one_unit(tmp_path: Path) -> None:
    async with sampling(tmp_path, "multiplus_24_mk2") as (_sim, sampler):
        await wait_for_cycles(sampler, 2)
        topology = sampler.units.topology
        assert topology is not None
        assert not topology.multi
        assert not topology.answered
        assert sampler.units.as_dict()["discovery"] == "not_answering"


async def test_without_snapshots_units_are_read_one_by_one(tmp_path: Path) -> None:
    async with sampling(tmp_path, "three_phase", snapshots=False) as (sim, sampler):
        status = await wait_for(sampler, lambda s: len(s.units) == 3)
        assert sampler.units.as_dict()["snapshots"]["support"] == "unsupported"
        assert not any(reading.coherent for reading in status.units.values())
        flows = sim.model.flows()
        for phase in (1, 2, 3):
            power = status.phase_power(phase)
            assert power is not None
            assert _close(power.output, flows.of_phase(phase).output_power)


async def test_topology_is_read_again_after_the_interface_reset(tmp_path: Path) -> None:
    async with Simulator(make_model("parallel"), link=str(tmp_path / "tty"), time_scale=0.0) as sim:
        client = Mk3Client(sim.url)
        await client.connect()
        sampler = Sampler(client)
        try:
            async with running(sampler):
                await wait_for(sampler, lambda s: len(s.units) == 2)
            # The same port, a resumed run: the V frame's last byte changed, so the MK3 was reset.
            sim.model.interface_mode = 0x43
            sim.clear_received()
            async with running(sampler):
                await wait_for(sampler, lambda _s: sampler.units.topology.interface_mode == 0x43)  # type: ignore[union-attr]
                assert any(p[1:3] == b"F\x07" for p in sim.received)
                assert sampler.units.topology.multi  # type: ignore[union-attr]
            # Reset again, now with the slave gone: its reading counts nowhere any more and the
            # system's power is the remaining unit's own again.
            sim.model.units = ()  # one unit carrying the whole phase
            sim.model.interface_mode = 0x44
            async with running(sampler):
                topology = lambda: sampler.units.topology  # noqa: E731
                await wait_for(sampler, lambda s: not s.units and topology().interface_mode == 0x44)  # type: ignore[union-attr]
                assert not topology().multi  # type: ignore[union-attr]
                expected = sim.model.flows().of_phase(1).output_power
                await wait_for(sampler, lambda s: _close(s.ac_output_power, expected))
        finally:
            await client.close()


async def test_rounds_keep_their_cadence(tmp_path: Path) -> None:
    """Per-unit values refresh about every UNIT_INTERVAL; the system frames every cycle."""
    async with sampling(tmp_path, "three_phase") as (_sim, sampler):
        await wait_for(sampler, lambda _s: sampler.units.stats.rounds >= 3)
        cycles, rounds = sampler.stats.cycles, sampler.units.stats.rounds
        await wait_for(sampler, lambda _s: sampler.units.stats.rounds >= rounds + 3)
        assert sampler.stats.cycles - cycles >= 3  # never fewer cycles than rounds
        assert sampler.units.stats.refresh_seconds >= UNIT_INTERVAL * 0.9


# --- pure parts: phase assignment, frames -----------------------------------------------------


def test_phase_assignment_is_read_not_assumed() -> None:
    # One phase answers: every unit on L1, although address % 3 would say L2 for address 1.
    assert assign_phases([0, 1], {1: 2}) == ({0: 1, 1: 1}, PhaseSource.ONE_PHASE)
    # Six units on three phases, counts agree with velib's rule.
    phases, source = assign_phases(range(6), {1: 2, 2: 2, 3: 2})
    assert phases == {0: 1, 1: 2, 2: 3, 3: 1, 4: 2, 5: 3}
    assert source is PhaseSource.ADDRESS_CONFIRMED
    # Counts that disagree are kept but flagged (diagnostics show it).
    assert assign_phases([0, 1, 2], {1: 2, 2: 1})[1] is PhaseSource.ADDRESS_UNCONFIRMED
    assert assign_phases([0], {})[1] is PhaseSource.SINGLE_UNIT


def test_positions_and_labels() -> None:
    topology = build_topology([0, 1, 2, 3], {1: 2, 2: 1, 3: 1})
    assert [unit.label for unit in topology.units] == ["L1 master", "L2 master", "L3 master", "L1 slave 1"]
    assert topology.phases == (1, 2, 3)


def _unit_info_payload(bitmap: int, own: int, kind: int = 0x02) -> bytes:
    return bytes((0x20, 1, 2, 3, 4, kind, 0, 0, *bitmap.to_bytes(4, "little"), 0, 0, own))


def test_unit_info_frame_parsing() -> None:
    frame = parse_unit_info(_unit_info_payload(0b101, 0))
    assert frame.addresses == {0, 2}
    assert frame.serial == "01020304"
    # Its own address counts even if the bitmap leaves it out.
    assert parse_unit_info(_unit_info_payload(0b1, 3)).addresses == {0, 3}
    with pytest.raises(ValueError, match="implausible"):
        parse_unit_info(_unit_info_payload(0xFFFFFFFF, 0))  # 32 units: noise
    with pytest.raises(ValueError, match="not a unit info"):
        parse_unit_info(_unit_info_payload(0b1, 0, kind=0x08))  # an AC frame (L1)


def test_snapshot_reply_parsing() -> None:
    scales = {var: RamVarInfo.from_raw(var, 0x10000 - 1, 0) for var in (14, 15, 16)}
    request = read_snapshot(ord("X"), [14, 15, 16], scales)
    words = b"".join(value.to_bytes(2, "little", signed=True) for value in (100, -2000, 300))
    assert request.parse(b"\xffX\x99" + words) == [100.0, -2000.0, 300.0]
    assert request.parse(b"\xffX\x99") is None  # snapshot lost: trigger again
    with pytest.raises(UnsupportedError):
        request.parse(b"\xffX\x80")
    with pytest.raises(ValueError, match="malformed"):
        request.parse(b"\xffX\x99\x01")


async def test_a_silent_unit_costs_its_own_values_only(tmp_path: Path) -> None:
    async with sampling(tmp_path, "three_phase") as (sim, sampler):
        await wait_for(sampler, lambda s: len(s.units) == 3)
        l3 = sim.model.units[2]
        sim.model.units = (*sim.model.units[:2], dataclasses.replace(l3, silent=True))
        status = await wait_for(sampler, lambda s: sorted(s.units) == [0, 1], timeout=30)
        assert status.phase_power(3) is None
        assert status.ac_input_power is None  # the system's sum needs every unit
        assert sampler.units.as_dict()["unit_reads"]["2"] == "not_answering"
        # The others keep being read, and the link stays up.
        rounds = sampler.units.stats.rounds
        status = await wait_for(sampler, lambda _s: sampler.units.stats.rounds >= rounds + 2)
        flows = sim.model.flows()
        power = status.phase_power(1)
        assert power is not None
        assert _close(power.output, flows.of_phase(1).output_power)
        assert 3 in status.ac  # L3's system frame still answers
        assert sampler.running


async def test_select_unit_sends_a_only_on_a_change(tmp_path: Path) -> None:
    async with Simulator(make_model("parallel"), link=str(tmp_path / "tty"), time_scale=0.0) as sim:
        client = Mk3Client(sim.url)
        await client.connect()
        try:
            await client.select_unit(1)
            await client.select_unit(1)
            assert sim.count("A") == 1
            assert sim.model.address == 1
            assert client.selected_address == 1
            # A read without an address goes to the master again: one more A.
            values = await client.read_ram([14, 16])
            assert sim.count("A") == 2
            assert sim.model.address == 0
            assert values[16] == pytest.approx(sim.model.flows().of_phase(1).output_power * 0.6, abs=1)
            client.forget_address()  # e.g. the interface was reset
            await client.select_unit(0)
            assert sim.count("A") == 3
        finally:
            await client.close()


async def test_a_system_that_did_not_answer_at_first_is_asked_again(tmp_path: Path) -> None:
    async with sampling(tmp_path, "three_phase", answers_unit_info=False) as (sim, sampler):
        await wait_for_cycles(sampler, 2)
        assert not sampler.units.multi
        assert sampler.latest is not None
        assert sampler.latest.units == {}
        sim.model.quirks = dataclasses.replace(sim.model.quirks, answers_unit_info=True)
        sampler.units.discovery.checked_at = None  # its retry time (30 s at first) has come
        status = await wait_for(sampler, lambda s: len(s.units) == 3)
        assert [unit.label for unit in sampler.units.topology.units] == [
            "L1 master",
            "L2 master",
            "L3 master",
        ]  # type: ignore[union-attr]
        assert status.phase_power(2) is not None

"""Device model of a MultiPlus-II 48/5000/70-50 230 V behind an MK3 interface.

Plain mutable attributes are the "physical world" tests may change at will (AC input, load,
switches, battery). ``flows()`` derives everything the device reports from them without side
effects; ``advance(dt)`` integrates the battery and steps the charger through its stages.
Sign conventions follow the device: mains current positive when drawing from the grid,
inverter (bridge) current and power positive from AC to DC (charging), negative when inverting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
import itertools

from ..const import ChargeAction, ChargeStage, DeviceState, InterfaceFlags, Led, SwitchRegister, SwitchState
from .ess import EssAssistant, battery_ac_power
from .quirks import DeviceQuirks
from .system import SystemUnit, phase_flows, phase_shares

INTERFACE_FLAGS_DEFAULT = InterfaceFlags.PANEL_DETECT | InterfaceFlags.UNDOCUMENTED

# Open-circuit voltage of a 16-cell LiFePO4 bank against state of charge: a flat middle and
# steep ends, which is what makes low-battery warnings appear late.
_OCV_CURVE = ((0.0, 44.8), (0.05, 48.0), (0.2, 51.2), (0.9, 53.2), (1.0, 54.4))
_OCV_CELLS = 16
BULK_END_SOC = 0.85
FLOAT_SOC = 0.995
REBULK_SOC = 0.9


class FrontSwitch(IntEnum):
    """Three-position rocker on the unit."""

    OFF = 0  # middle
    ON = 1  # up
    CHARGER_ONLY = 2  # down


_ABSORBING = (
    ChargeStage.ABSORPTION,
    ChargeStage.REPEATED_ABSORPTION,
    ChargeStage.FORCED_ABSORPTION,
    ChargeStage.EQUALISE,
)
_FLOATING = (ChargeStage.FLOAT, ChargeStage.STORAGE)


def ocv(soc: float, cells: int = _OCV_CELLS) -> float:
    """Open-circuit voltage at ``soc`` (0..1) of a LiFePO4 bank of ``cells`` cells in series."""
    soc = max(0.0, min(1.0, soc))
    per_bank = cells / _OCV_CELLS
    for (s0, v0), (s1, v1) in itertools.pairwise(_OCV_CURVE):
        if soc <= s1:
            return (v0 + (v1 - v0) * (soc - s0) / (s1 - s0)) * per_bank
    return _OCV_CURVE[-1][1] * per_bank


@dataclass(frozen=True)
class PhaseFlows:
    """AC quantities of one phase (one unit)."""

    mains_voltage: float = 0.0
    mains_frequency: float = 0.0
    mains_current: float = 0.0
    output_voltage: float = 0.0
    output_frequency: float = 0.0
    load_current: float = 0.0
    inverter_current: float = 0.0
    input_power: float = 0.0
    output_power: float = 0.0
    inverter_power: float = 0.0


@dataclass(frozen=True)
class Flows:
    """Everything the device reports at one instant."""

    state: DeviceState
    phase: PhaseFlows  # L1
    ac_connected: bool
    ignoring_ac_input: bool
    inverter_frequency: float  # the inverter's own oscillator, also while it only follows mains
    battery_voltage: float
    battery_current: float  # positive while charging
    battery_ripple: float
    leds_on: Led
    leds_blink: Led
    # Every phase, L1 first (equal to ``phase`` on a single-phase unit).
    phases: tuple[PhaseFlows, ...] = ()

    def of_phase(self, phase: int) -> PhaseFlows:
        """The flows of phase ``phase`` (1-based); L1's when the model has fewer."""
        return self.phases[phase - 1] if 0 < phase <= len(self.phases) else self.phase

    @property
    def inverting(self) -> bool:
        return self.state in (DeviceState.INVERT_FULL, DeviceState.POWER_ASSIST)


@dataclass
class MultiplusModel:
    """A MultiPlus-II 48/5000/70-50 230 V; every attribute may be changed while running."""

    # Controls.
    switch_state: SwitchState = SwitchState.ON  # remote panel state (S command); persists
    current_limit: float = 16.0  # amps, AC input; persists
    current_limit_min: float = 3.6
    current_limit_max: float = 50.0
    front_switch: FrontSwitch = FrontSwitch.ON
    charger_enabled: bool = True
    limit_overridden_by_panel: bool = False
    max_on_ignored_limit: bool = False  # guess: firmware reading limit 0x8000 as "maximum"
    # "A Multi switched off can need several 'on' commands": that many S commands that would
    # switch the unit on from OFF are acknowledged and ignored.
    ignore_on_commands: int = 0
    # MK3 interface (powered from VE.Bus, so this resets when the unit sleeps).
    interface_flags: int = int(INTERFACE_FLAGS_DEFAULT)
    winmon_mode: bool = False
    address: int = 0
    interface_version: int = 1170216  # real capture: 07 FF 56 28 DB 11 00 42 4E
    interface_mode: int = 0x42
    firmware_version: int = 2623506  # AA BB CCC; firmware 506
    quirks: DeviceQuirks = field(default_factory=DeviceQuirks)
    # Outside world.
    phases: int = 1  # F 2..phases answer; more phases = more units, one per phase
    # Share of the total load on each phase (empty: equal). Guess: the loads of a real
    # three-phase home differ per phase; the numbers are made up for tests.
    phase_weights: tuple[float, ...] = ()
    # The units of a multi-unit system (simulator/system.py); empty = one unit at address 0.
    units: tuple[SystemUnit, ...] = ()
    # Frozen raw words per unit address from the last F 6 (None: no snapshot taken).
    snapshot: dict[int, bytes] | None = None
    ac_input_present: bool = True
    ac_input_voltage: float = 230.0
    ac_input_frequency: float = 50.0
    load_w: float = 350.0  # total AC-out load over all phases
    # > 0 while on the grid: the inverter pushes this much battery power back into the grid (as
    # an ESS would), so mains current goes negative. Shown as power assist (guess).
    feed_in_w: float = 0.0
    over_temperature: bool = False
    # The ESS assistant (None: not installed). With it, the unit regulates its AC input power to
    # the external setpoint while one is in force.
    ess: EssAssistant | None = None
    relay_on: bool = False
    # Inverter and charger.
    inverter_voltage: float = 230.0
    inverter_frequency: float = 50.0
    inverter_rated_w: float = 4000.0  # continuous at 25 °C; above it the overload LED lights
    inverter_efficiency: float = 0.94
    charger_efficiency: float = 0.95
    idle_power_w: float = 20.0
    max_charge_current: float = 70.0
    absorption_voltage: float = 56.4
    float_voltage: float = 54.0
    charge_stage: ChargeStage = ChargeStage.BULK
    # Battery.
    battery_monitor: bool = True  # without it variable 13 (SOC) is unsupported
    # Unsupported variables answer their 0x36 info with scale 0 (measured); True: with 0x90.
    unsupported_info_as_0x90: bool = False
    battery_cells: int = 16  # LiFePO4 cells in series (scales the open-circuit voltage curve)
    battery_capacity_ah: float = 200.0
    soc: float = 0.75
    battery_resistance: float = 0.015  # ohm
    low_battery_warning_v: float = 47.0
    low_battery_shutdown_v: float = 44.0
    low_battery_restart_v: float = 48.0
    low_battery_shutdown: bool = False
    # MK3 state: LED status appended to every frame (S flags bit 0x02); power-on value from quirks.
    led_status_appended: bool = field(default=False, init=False)
    # None until the first advance, so a configured charge_stage survives start-up.
    _was_charging: bool | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.led_status_appended = self.quirks.led_status_appended

    def ocv(self, soc: float) -> float:
        """Open-circuit voltage of this unit's battery bank."""
        return ocv(soc, self.battery_cells)

    # --- switches -------------------------------------------------------------------------

    @property
    def remote_charge(self) -> bool:
        return self.switch_state in (SwitchState.ON, SwitchState.CHARGER_ONLY)

    @property
    def remote_invert(self) -> bool:
        return self.switch_state in (SwitchState.ON, SwitchState.INVERTER_ONLY)

    @property
    def result_charge(self) -> bool:
        """Charging/AC input allowed after the front switch overrides the remote state."""
        return self.remote_charge and self.front_switch in (FrontSwitch.ON, FrontSwitch.CHARGER_ONLY)

    @property
    def result_invert(self) -> bool:
        """Inverting allowed: charger-only on the front switch disables it whatever the remote says."""
        return self.remote_invert and self.front_switch == FrontSwitch.ON

    def switch_register(self) -> SwitchRegister:
        reg = SwitchRegister.ONBOARD_REMOTE_INVERT  # reads as always set on real units
        flags = (
            (self.remote_charge, SwitchRegister.REMOTE_CHARGE),
            (self.remote_invert, SwitchRegister.REMOTE_INVERT),
            (self.front_switch == FrontSwitch.ON, SwitchRegister.FRONT_SWITCH_UP),
            (self.front_switch == FrontSwitch.CHARGER_ONLY, SwitchRegister.FRONT_SWITCH_DOWN),
            (self.result_charge, SwitchRegister.RESULT_CHARGE),
            (self.result_invert, SwitchRegister.RESULT_INVERT),
        )
        for on, bit in flags:
            if on:
                reg |= bit
        return reg

    def limit_from_raw(self, raw: int) -> float:
        """S command limit field: 0 = minimum, else amps×10 clamped.

        A limit >= 0x8000 leaves the present limit, as Victron's MK2 protocol document says
        ("the input current setpoint being ignored"; quoted in martiby/ess issue 1). One peer
        (j9brown/victron-mk3) documents "maximum" instead: ``max_on_ignored_limit`` models that
        reading (a guess about some firmware, used to test that a client repairs it).
        """
        if raw >= 0x8000:
            return self.current_limit_max if self.max_on_ignored_limit else self.current_limit
        if raw == 0:
            return self.current_limit_min
        return max(self.current_limit_min, min(self.current_limit_max, raw / 10))

    def apply_remote(self, state: SwitchState, raw_limit: int) -> bool:
        """Apply an S command; False when the unit ignored it (stubborn switch-on)."""
        if self.switch_state == SwitchState.OFF and state != SwitchState.OFF and self.ignore_on_commands > 0:
            self.ignore_on_commands -= 1
            return False
        self.switch_state = state
        self.current_limit = self.limit_from_raw(raw_limit)
        return True

    def force_charge_stage(self, action: int) -> None:
        """W 0x0E actions 1-3 (uncertain in protocol.md): force equalise/absorption/float."""
        forced: dict[int, ChargeStage] = {
            ChargeAction.EQUALISE: ChargeStage.EQUALISE,
            ChargeAction.ABSORPTION: ChargeStage.FORCED_ABSORPTION,
            ChargeAction.FLOAT: ChargeStage.FLOAT,
        }
        if action in forced and self.flows().state == DeviceState.CHARGE:
            self.charge_stage = forced[action]

    def wants_sleep(self) -> bool:
        """Switched off, nothing on AC-in and no standby: the unit powers VE.Bus down."""
        standby = bool(self.interface_flags & InterfaceFlags.STANDBY)
        return not self.result_invert and not self.ac_input_present and not standby

    def interface_power_lost(self) -> None:
        """The MK3 lives on VE.Bus power: its flags and modes reset with it."""
        self.interface_flags = int(INTERFACE_FLAGS_DEFAULT)
        self.winmon_mode = False
        self.address = 0
        self.led_status_appended = self.quirks.led_status_appended

    # --- physics --------------------------------------------------------------------------

    def _charge_demand(self) -> float:
        """DC current the charger wants in its present stage."""
        stage = self.charge_stage
        if stage == ChargeStage.BULK_STOPPED:
            return 0.0
        if stage in _ABSORBING:
            taper = (1.0 - self.soc) / (1.0 - BULK_END_SOC)
            return self.max_charge_current * max(0.03, min(1.0, taper))
        if stage in _FLOATING:
            return min(1.0, self.max_charge_current * max(0.0, 1.0 - self.soc) * 10)
        return self.max_charge_current

    def _voltage_cap(self) -> float:
        return self.float_voltage if self.charge_stage in _FLOATING else self.absorption_voltage

    def flows(self) -> Flows:
        """What the device measures and reports right now (no side effects)."""
        phases = max(1, self.phases)
        ac_ok = self.ac_input_present and self.ac_input_voltage > 0
        connected = ac_ok and self.result_charge
        can_invert = self.result_invert and not self.low_battery_shutdown
        load = max(0.0, self.load_w) / phases
        mains_v = self.ac_input_voltage if ac_ok else 0.0
        mains_f = self.ac_input_frequency if ac_ok else 0.0
        mains_w = charger_ac = inverter_ac = 0.0
        if connected:
            limit_w = self.current_limit * mains_v
            out_v, out_f = mains_v, mains_f
            ess_setpoint = self.ess.effective_setpoint() if self.ess is not None else None
            if ess_setpoint is not None and can_invert:  # ESS needs the inverter
                charge_max = 0.0
                if self.charger_enabled:
                    charge_max = self._charge_demand() * self._voltage_cap() / self.charger_efficiency
                charge_max = min(charge_max * phases, max(0.0, limit_w * phases - load * phases))
                charger_total, inverter_total = battery_ac_power(
                    ess_setpoint, load * phases, charge_max, self.inverter_rated_w * phases
                )
                charger_ac, inverter_ac = charger_total / phases, inverter_total / phases
                state = DeviceState.POWER_ASSIST if inverter_ac > 0 else DeviceState.CHARGE
                mains_w = load + charger_ac - inverter_ac
            elif self.feed_in_w > 0 and can_invert:
                state = DeviceState.POWER_ASSIST
                inverter_ac = self.feed_in_w / phases
                mains_w = load - inverter_ac
            elif load > limit_w and can_invert:
                state = DeviceState.POWER_ASSIST
                mains_w, inverter_ac = limit_w, load - limit_w
            else:
                # Charger-only cannot assist: the load passes through even above the limit.
                state = DeviceState.CHARGE if self.charger_enabled else DeviceState.BYPASS
                if self.charger_enabled:
                    demand_ac = self._charge_demand() * self._voltage_cap() / self.charger_efficiency
                    charger_ac = max(0.0, min(demand_ac / phases, limit_w - load))
                mains_w = load + charger_ac
        elif can_invert:
            state = DeviceState.INVERT_FULL
            out_v, out_f = self.inverter_voltage, self.inverter_frequency
            inverter_ac = load
        else:
            state = DeviceState.OFF
            out_v, out_f, load = 0.0, 0.0, 0.0
        inverting = state in (DeviceState.INVERT_FULL, DeviceState.POWER_ASSIST)
        dc_w = charger_ac * phases * self.charger_efficiency
        if inverting:
            dc_w -= inverter_ac * phases / self.inverter_efficiency + self.idle_power_w
        open_v = self.ocv(self.soc)
        battery_i = dc_w / open_v
        battery_v = open_v + battery_i * self.battery_resistance
        if battery_i > 0:
            battery_v = min(battery_v, self._voltage_cap())
        mains_i = mains_w / mains_v if mains_v else 0.0
        load_i = load / out_v if out_v else 0.0
        phase = PhaseFlows(
            mains_voltage=mains_v,
            mains_frequency=mains_f,
            mains_current=mains_i,
            output_voltage=out_v,
            output_frequency=out_f,
            load_current=load_i,
            inverter_current=mains_i - load_i,
            input_power=mains_w,
            output_power=load,
            inverter_power=mains_w - load,
        )
        on, blink = self._leds(state, connected, ac_ok, inverter_ac * phases, battery_v)
        per_phase = tuple(
            phase_flows(phase, load, load * phases * weight, connected)
            for weight in phase_shares(self.phase_weights, phases)
        )
        phase = per_phase[0]
        return Flows(
            phases=per_phase,
            state=state,
            phase=phase,
            ac_connected=connected,
            ignoring_ac_input=ac_ok and not self.result_charge,
            inverter_frequency=mains_f if connected else self.inverter_frequency,
            battery_voltage=battery_v,
            battery_current=battery_i,
            battery_ripple=0.02 + abs(battery_i) * 0.002,
            leds_on=on,
            leds_blink=blink,
        )

    def _leds(
        self, state: DeviceState, connected: bool, ac_ok: bool, inverter_w: float, battery_v: float
    ) -> tuple[Led, Led]:
        """Front panel: blinking LEDs are set in both bytes."""
        on, blink = Led(0), Led(0)
        if connected:
            on |= Led.MAINS
        elif ac_ok and state != DeviceState.OFF:
            blink |= Led.MAINS  # AC present but ignored (inverter only)
        if state == DeviceState.CHARGE:
            stage = self.charge_stage
            if stage in (ChargeStage.BULK, ChargeStage.INIT):
                on |= Led.BULK
            elif stage == ChargeStage.BULK_STOPPED:
                blink |= Led.BULK
            elif stage == ChargeStage.EQUALISE:
                blink |= Led.ABSORPTION
            elif stage in _ABSORBING:
                on |= Led.ABSORPTION
            else:
                on |= Led.FLOAT
        if state in (DeviceState.INVERT_FULL, DeviceState.POWER_ASSIST):
            on |= Led.INVERTER
            if inverter_w > self.inverter_rated_w:
                on |= Led.OVERLOAD
            if battery_v < self.low_battery_warning_v:
                blink |= Led.LOW_BATTERY
        if self.low_battery_shutdown:
            on |= Led.LOW_BATTERY
        if self.over_temperature:
            on |= Led.TEMPERATURE
        return on | blink, blink

    def advance(self, dt: float) -> None:
        """Let ``dt`` seconds of device time pass: battery charge, charger stage, low battery."""
        if dt <= 0:
            return
        flows = self.flows()
        charging = flows.state == DeviceState.CHARGE
        if charging and self._was_charging is False:
            self.charge_stage = self._stage_for_soc()  # the charger starts from the battery's state
        self._was_charging = charging
        self.soc = max(0.0, min(1.0, self.soc + flows.battery_current * dt / 3600 / self.battery_capacity_ah))
        if charging:
            stage = self.charge_stage
            if stage in (ChargeStage.INIT, ChargeStage.BULK) and self.soc >= BULK_END_SOC:
                self.charge_stage = ChargeStage.ABSORPTION
            elif stage in _ABSORBING and self.soc >= FLOAT_SOC:
                self.charge_stage = ChargeStage.FLOAT
            elif stage in _FLOATING and self.soc < REBULK_SOC:
                self.charge_stage = ChargeStage.BULK
        if flows.inverting and flows.battery_voltage < self.low_battery_shutdown_v:
            self.low_battery_shutdown = True
        elif self.low_battery_shutdown and self.ocv(self.soc) >= self.low_battery_restart_v:
            self.low_battery_shutdown = False

    def _stage_for_soc(self) -> ChargeStage:
        if self.soc < BULK_END_SOC:
            return ChargeStage.BULK
        return ChargeStage.ABSORPTION if self.soc < FLOAT_SOC else ChargeStage.FLOAT

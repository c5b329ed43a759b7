"""The simulated MK3 + MultiPlus II: one request payload in, reply payloads out.

Pure protocol logic with no I/O or clock: the simulator decides whether the unit is awake and
when replies leave; this module decides what they contain and how long the device works on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..const import (
    CONFIG_FRAME,
    DC_INFO_KIND,
    INFO_FRAME,
    MK2_FRAME,
    W_DEVICE_STATE,
    W_DEVICE_STATE_REPLY,
    W_OFFSET,
    W_RAM_INFO,
    W_RAM_VALUES,
    W_READ_RAM,
    W_READ_SETTING,
    W_SCALE,
    W_UNSUPPORTED,
    W_VERSION_HIGH,
    W_VERSION_HIGH_REPLY,
    W_VERSION_LOW,
    W_VERSION_LOW_REPLY,
    ChargeStage,
    DeviceState,
    InterfaceFlags,
    RamVar,
    SwitchState,
)
from ..frame import checksum, encode_frame
from .ess import LEGACY_WRITE_DATA, LEGACY_WRITE_RAM, WRITE_VIA_ID, write_via_id_without_ess
from .model import Flows, MultiplusModel
from .quirks import S_FLAG_DO_NOT_FORWARD, S_FLAG_LED_STATUS, S_FLAGS_INDEX
from .ramvars import RAM_VARS, period, read_raw, spec_for
from .system import unit_at, unit_info_frame, units_of, units_on_phase

# Payload after 0xFF 'S' that takes the interface out of VictronConnect's long-frame ("Winmon")
# mode. Uncertain: protocol.md has one source for it; only this exact sequence is recognised.
S_INIT_VARIANT = bytes((0x00, 0x00, 0x00, 0x01, 0x90, 0x00, 0x01))

# W-family codes beyond const.py. Uncertain: taken from the MK2 reply-code list, not protocol.md.
W_UNKNOWN_COMMAND = 0x80
W_SETTING_UNSUPPORTED = 0x91
W_SETTING_COMMANDS = (W_READ_SETTING, 0x33, 0x35)
W_FAMILY = b"WXYZ"
W_CUTOFF = 4  # 'W' replies lose everything past four data bytes
MAX_RAM_IDS = 3  # what fits a short frame; further ids are not answered

# Multi-unit commands (protocol.md, *Multi-unit systems*).
SNAPSHOT_TRIGGER = 6  # F 6 ids
UNIT_INFO = 7  # F 7 addr
W_READ_SNAPSHOT = 0x38
W_SNAPSHOT_REPLY = 0x99

# Device turnaround (request fully received → first reply byte), used only when paced.
TURNAROUND_CONFIG = 0.8  # F 5: > 750 ms on real units
TURNAROUND_INFO = 0.025  # F 0..4
TURNAROUND_VEBUS = 0.03  # W family and S travel over VE.Bus to the Multi
TURNAROUND_LOCAL = 0.012  # V, L, A, H: answered by the MK3 itself

INFO_RESERVED = 0x00  # info frame index 3: meaning unknown
CONFIG_FRAME_TYPE = 0x10  # config frame index 1 (uncertain)
PHASE_KIND_L1 = 0x08  # AC kind = 9 - phase; L1 of an n-phase system says 7 + n instead
LED_STATUS_LENGTH_FLAG = 0x80  # length byte top bit: two LED bytes follow the payload


@dataclass
class Response:
    """What the device does with one request."""

    frames: list[bytes] = field(default_factory=list)  # payloads, in order; empty = no reply
    turnaround: float = TURNAROUND_LOCAL
    reset: bool = False  # R: the interface restarts


class Mk3Device:
    """Answers MK2 commands from the state of a ``MultiplusModel``."""

    def __init__(self, model: MultiplusModel) -> None:
        self.model = model

    def encode(self, payload: bytes) -> bytes:
        """Frame ``payload`` as the interface sends it now (with LED status appended or not).

        Appended form (protocol.md *Field quirks*): length byte with the top bit set, payload,
        LEDs on, LEDs blink, then a checksum over everything, the raw length byte included.
        """
        if not self.model.led_status_appended:
            return encode_frame(payload)
        flows = self.model.flows()
        length = LED_STATUS_LENGTH_FLAG | len(payload)
        body = bytes((*payload, int(flows.leds_on), int(flows.leds_blink)))
        return bytes((length, *body, checksum(length, body)))

    def handle(self, payload: bytes) -> Response:
        """Process one request payload (``0xFF letter data…``)."""
        if len(payload) < 2 or payload[0] != MK2_FRAME:
            return Response()
        letter, data = payload[1], payload[2:]
        if self.model.winmon_mode:
            # Long-frame mode: short commands vanish, except the init S frame that ends it.
            # Recognised by its flag bytes: clients put the last known state and limit before them.
            if letter == ord("S") and data[3:] == S_INIT_VARIANT[3:]:
                self.model.winmon_mode = False
                return Response([self._reply(letter)], TURNAROUND_VEBUS)
            return Response()
        if letter in W_FAMILY:
            unit = unit_at(self.model, self.model.address) if self.model.units else None
            if unit is not None and unit.silent:
                return Response(turnaround=TURNAROUND_VEBUS)  # a unit gone from the bus
            return Response(self._w_family(letter, data), TURNAROUND_VEBUS)
        handlers = {
            ord("V"): self._version,
            ord("A"): self._address,
            ord("L"): self._leds,
            ord("S"): self._state,
        }
        if self.model.quirks.has_interface_flags_command:
            handlers[ord("H")] = self._flags
        handler = handlers.get(letter)
        if handler is not None:
            turnaround = TURNAROUND_VEBUS if letter == ord("S") else TURNAROUND_LOCAL
            return Response([handler(data)], turnaround)
        if letter == ord("F"):
            return self._info(data)
        if letter == ord("R"):
            return Response(reset=True)
        return Response()  # unknown command: silence

    # --- frames -------------------------------------------------------------------------

    @staticmethod
    def _reply(letter: int, *data: int) -> bytes:
        return bytes((MK2_FRAME, letter, *data))

    def version_frame(self) -> bytes:
        """``FF 'V' u32 mode`` — also the unsolicited once-a-second frame."""
        version = self.model.interface_version.to_bytes(4, "little")
        return self._reply(ord("V"), *version, self.model.interface_mode)

    def _version(self, _data: bytes) -> bytes:
        return self.version_frame()

    def _address(self, data: bytes) -> bytes:
        action = data[0] if data else 0
        if action == 1 and len(data) > 1:
            self.model.address = data[1]
        return self._reply(ord("A"), action, self.model.address)

    def _leds(self, _data: bytes) -> bytes:
        flows = self.model.flows()
        # Newer firmware appends two bytes whose meaning is not documented; sent as zero.
        return self._reply(ord("L"), int(flows.leds_on), int(flows.leds_blink), 0, 0)

    def _flags(self, data: bytes) -> bytes:
        if data:
            self.model.interface_flags = data[0]
            reply = self._reply(ord("H"), self.model.interface_flags)
            if self.model.quirks.drops_standby_flag:
                self.model.interface_flags &= ~InterfaceFlags.STANDBY
            return reply
        return self._reply(ord("H"), self.model.interface_flags)

    def _state(self, data: bytes) -> bytes:
        model = self.model
        flags = data[S_FLAGS_INDEX] if len(data) > S_FLAGS_INDEX else 0
        # State 0 (as in the init variant) changes nothing: neither mode nor limit. Nor does a
        # frame flagged "do not forward", unless the firmware ignores that flag (a quirk).
        forward = not flags & S_FLAG_DO_NOT_FORWARD or model.quirks.applies_do_not_forward_s
        if len(data) >= 3 and data[0] in tuple(SwitchState) and forward:
            model.apply_remote(SwitchState(data[0]), data[1] | data[2] << 8)
        if len(data) > S_FLAGS_INDEX:
            # LED status appended on/off (velib: MK2_S_FLAG_LED_STATUS). Guess: at once, so the
            # S reply itself is already framed the new way.
            model.led_status_appended = bool(flags & S_FLAG_LED_STATUS)
        return self._reply(ord("S"))

    def _info(self, data: bytes) -> Response:
        if not data:
            return Response(turnaround=TURNAROUND_INFO)
        which = data[0]
        flows = self.model.flows()
        if which == 0:
            return Response([self.dc_info_frame(flows)], TURNAROUND_INFO)
        if 1 <= which <= min(4, self.model.phases):
            return Response([self.ac_info_frame(flows, which)], TURNAROUND_INFO)
        if which == 5:
            return Response([self.config_frame(flows)], TURNAROUND_CONFIG)
        if which == SNAPSHOT_TRIGGER:
            self._freeze(data[1:], flows)
            return Response(turnaround=TURNAROUND_INFO)  # fact: no reply
        if which == UNIT_INFO and self.model.quirks.answers_unit_info:
            frame = unit_info_frame(self.model, data[1] if len(data) > 1 else 0)
            # Guess: as long as an AC frame (it travels over VE.Bus from the unit).
            return Response([frame] if frame else [], TURNAROUND_VEBUS)
        # Absent phases get no reply at all (single-phase unit), like unknown F numbers.
        return Response(turnaround=TURNAROUND_INFO)

    def _freeze(self, var_ids: bytes, flows: Flows) -> None:
        """F 6: every unit keeps its present raw words of ``var_ids`` (at most six).

        Guesses: the frozen words stay readable until the next trigger (any number of reads),
        and a trigger with an unknown id freezes zero for it.
        """
        model = self.model
        frozen: dict[int, bytes] = {}
        for unit in units_of(model):
            selected, model.address = model.address, unit.address
            try:
                words = [read_raw(model, flows, var_id) for var_id in var_ids[:6]]
            finally:
                model.address = selected
            frozen[unit.address] = b"".join(word or b"\0\0" for word in words)
        model.snapshot = frozen

    def _info_header(self, flows: Flows, kind: int, units: int = 1) -> bytes:
        # Back-feed and inverter factors: the units on the phase (1 on a lone MultiPlus II).
        state = int(flows.state)
        unfilled = self.model.quirks.ac_info_state_byte
        if unfilled is not None and kind != DC_INFO_KIND:
            state = unfilled
        return bytes((INFO_FRAME, units, units, INFO_RESERVED, state, kind))

    def dc_info_frame(self, flows: Flows) -> bytes:
        """F 0: battery voltage, inverter/charger side currents (24 bit), inverter period."""
        volts = RAM_VARS[RamVar.BATTERY_VOLTAGE].raw_bytes(flows.battery_voltage)
        amps = RAM_VARS[RamVar.BATTERY_CURRENT]
        to_inverter = amps.raw_bytes(max(0.0, -flows.battery_current), 3)
        from_charger = amps.raw_bytes(max(0.0, flows.battery_current), 3)
        per = RAM_VARS[RamVar.INVERTER_PERIOD].raw_bytes(period(flows.inverter_frequency), 1)
        return self._info_header(flows, DC_INFO_KIND) + volts + to_inverter + from_charger + per

    def ac_info_frame(self, flows: Flows, phase: int) -> bytes:
        """F n: one phase's mains and inverter voltage/current and mains period."""
        phases = self.model.phases
        kind = 7 + phases if phase == 1 and phases > 1 else 9 - phase
        p = flows.of_phase(phase)
        # Fact: currents times the factor byte are the phase's totals. Guess: the frame carries
        # the average per unit (the phase total divided by its units).
        units = units_on_phase(self.model, phase)
        mains_current = spec_for(self.model, RamVar.MAINS_CURRENT) or RAM_VARS[RamVar.MAINS_CURRENT]
        body = (
            RAM_VARS[RamVar.MAINS_VOLTAGE].raw_bytes(p.mains_voltage)
            + mains_current.raw_bytes(p.mains_current / units)
            + RAM_VARS[RamVar.INVERTER_VOLTAGE].raw_bytes(p.output_voltage)
            + RAM_VARS[RamVar.INVERTER_CURRENT].raw_bytes(p.inverter_current / units)
            # No AC input: the period byte reads 0 (→ 0 Hz, never a division).
            + RAM_VARS[RamVar.MAINS_PERIOD].raw_bytes(period(p.mains_frequency), 1)
        )
        return self._info_header(flows, kind, units) + body

    def config_frame(self, flows: Flows) -> bytes:
        """F 5: AC input configuration, current limits ×10 and the switch register."""
        model = self.model
        panel = bool(model.interface_flags & InterfaceFlags.PANEL_DETECT)
        ac_config = (1 << 4) | (0x04 if model.limit_overridden_by_panel else 0) | (0x80 if panel else 0)

        def deci(amps: float) -> tuple[int, int]:
            raw = round(amps * 10)
            return raw & 0xFF, raw >> 8

        # Indices 1-4 are outside protocol.md; filled as the MK2 doc's "master multi LED" frame
        # (type, LEDs on, LEDs blink, status) — uncertain, clients should ignore them.
        return bytes(
            (
                CONFIG_FRAME,
                CONFIG_FRAME_TYPE,
                int(flows.leds_on),
                int(flows.leds_blink),
                0,
                ac_config,
                *deci(model.current_limit_min),
                *deci(model.current_limit_max),
                *deci(model.current_limit),
                int(model.switch_register()),
            )
        )

    # --- W family -----------------------------------------------------------------------

    def _w_family(self, letter: int, data: bytes) -> list[bytes]:
        reply = self._w_reply(data)
        if reply is None:
            return []
        if letter == ord("W"):
            reply = reply[:W_CUTOFF]
        return [self._reply(letter, *reply)]

    def _w_reply(self, data: bytes) -> bytes | None:
        """Reply code and data of a W-family request; None = no reply at all."""
        if not data:
            return bytes((W_UNKNOWN_COMMAND,))
        sub, args = data[0], data[1:]
        model = self.model
        if sub == W_READ_RAM:
            flows = model.flows()
            wanted = args[: 1 if model.quirks.ram_read_first_value_only else MAX_RAM_IDS]
            values = [read_raw(model, flows, var_id) for var_id in wanted]
            if any(raw is None for raw in values):
                return bytes((W_UNSUPPORTED,))
            return bytes((W_RAM_VALUES,)) + b"".join(raw for raw in values if raw is not None)
        if sub == W_RAM_INFO:
            var_id = int.from_bytes(args[:2].ljust(2, b"\0"), "little")
            spec = spec_for(model, var_id)
            # An id the unit does not have at all answers 0x90; a known but unavailable one
            # (SOC without battery monitor) answers scale 0, as measured, unless told otherwise.
            if spec is None or (not spec.supported and model.unsupported_info_as_0x90):
                return bytes((W_UNSUPPORTED,))
            scale, offset = spec.info_words()
            if model.quirks.scale_info_without_offset and offset == 0:
                return bytes((W_SCALE, scale & 0xFF, scale >> 8))
            return bytes((W_SCALE, scale & 0xFF, scale >> 8, W_OFFSET, offset & 0xFF, offset >> 8))
        if sub == W_DEVICE_STATE:
            model.force_charge_stage(args[0] if args else 0)
            flows = model.flows()
            stage = model.charge_stage if flows.state == DeviceState.CHARGE else ChargeStage.INIT
            return bytes((W_DEVICE_STATE_REPLY, int(flows.state), int(stage)))
        if sub == W_READ_SNAPSHOT:
            if not model.quirks.snapshots:
                return bytes((W_UNKNOWN_COMMAND,))
            words = (model.snapshot or {}).get(model.address)
            # No snapshot for this unit: the reply code alone (fact: a short reply means the
            # snapshot was lost; guess: this is how the device sends it).
            return bytes((W_SNAPSHOT_REPLY,)) + (words or b"")
        if sub in (W_VERSION_LOW, W_VERSION_HIGH):
            if model.quirks.firmware_request_needs_args and len(args) < 2:
                return None
            unit = unit_at(model, model.address)
            version = unit.firmware_version if unit and unit.firmware_version else model.firmware_version
            word = version & 0xFFFF if sub == W_VERSION_LOW else version >> 16 & 0xFFFF
            code = W_VERSION_LOW_REPLY if sub == W_VERSION_LOW else W_VERSION_HIGH_REPLY
            return bytes((code, word & 0xFF, word >> 8))
        if sub == WRITE_VIA_ID:
            return model.ess.write_via_id(args) if model.ess is not None else write_via_id_without_ess(args)
        if sub in (LEGACY_WRITE_RAM, LEGACY_WRITE_DATA):
            return bytes((W_UNKNOWN_COMMAND,))  # the MK3's compatibility flag is off
        if sub in W_SETTING_COMMANDS:
            return bytes((W_SETTING_UNSUPPORTED,))  # no settings are modelled (and none written)
        return bytes((W_UNKNOWN_COMMAND,))

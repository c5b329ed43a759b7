"""Simulated MK3-USB interface with a MultiPlus-II 48/5000/70-50 behind it (or another profile).

It speaks the real bytes over a pseudo-terminal (behind a stable symlink) and/or TCP, so the
library, Home Assistant tests and benchmarks meet it exactly as they would meet the hardware.
"""

from __future__ import annotations

from ..const import ChargeStage
from .device import S_INIT_VARIANT, Mk3Device, Response
from .ess import SETPOINT_AT_129, SETPOINT_AT_131, AssistantSpec, EssAssistant
from .model import Flows, FrontSwitch, MultiplusModel, PhaseFlows
from .profiles import DEFAULT_PROFILE, PROFILES, Profile, make_model
from .quirks import DeviceQuirks
from .ramvars import RAM_VARS, RamVarSpec
from .simulator import Faults, Simulator, run_simulator
from .thread import SimulatorThread
from .transport import BYTE_TIME, FTDI_LATENCY

__all__ = [
    "BYTE_TIME",
    "DEFAULT_PROFILE",
    "FTDI_LATENCY",
    "PROFILES",
    "RAM_VARS",
    "SETPOINT_AT_129",
    "SETPOINT_AT_131",
    "S_INIT_VARIANT",
    "AssistantSpec",
    "ChargeStage",
    "DeviceQuirks",
    "EssAssistant",
    "Faults",
    "Flows",
    "FrontSwitch",
    "Mk3Device",
    "MultiplusModel",
    "PhaseFlows",
    "Profile",
    "RamVarSpec",
    "Response",
    "Simulator",
    "SimulatorThread",
    "make_model",
    "run_simulator",
]

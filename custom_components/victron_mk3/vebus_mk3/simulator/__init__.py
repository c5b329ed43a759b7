"""Simulated MK3-USB interface with a MultiPlus-II 48/5000/70-50 behind it.

It speaks the real bytes over a pseudo-terminal (behind a stable symlink) and/or TCP, so the
library, Home Assistant tests and benchmarks meet it exactly as they would meet the hardware.
"""

from __future__ import annotations

from ..const import ChargeStage
from .device import S_INIT_VARIANT, Mk3Device, Response
from .model import Flows, FrontSwitch, MultiplusModel, PhaseFlows
from .ramvars import RAM_VARS, RamVarSpec
from .simulator import Faults, Simulator, run_simulator
from .thread import SimulatorThread
from .transport import BYTE_TIME

__all__ = [
    "BYTE_TIME",
    "RAM_VARS",
    "S_INIT_VARIANT",
    "ChargeStage",
    "Faults",
    "Flows",
    "FrontSwitch",
    "Mk3Device",
    "MultiplusModel",
    "PhaseFlows",
    "RamVarSpec",
    "Response",
    "Simulator",
    "SimulatorThread",
    "run_simulator",
]

"""vebus_mk3: asyncio client for Victron VE.Bus devices through an MK3 interface.

Independent of Home Assistant; needs only ``serialx``. Typical use::

    client = Mk3Client("/dev/serial/by-id/usb-VictronEnergy_MK3-USB_Interface_HQ0000-if00-port0")
    await client.connect()
    status = await StatusReader(client).read()
    await client.close()
"""

from .client import LinkEvent, Mk3Client
from .const import (
    ChargeAction,
    ChargeStage,
    DeviceState,
    InterfaceFlags,
    Led,
    RamVar,
    SwitchRegister,
    SwitchState,
)
from .exceptions import (
    LinkIOError,
    Mk3Error,
    NoAnswerError,
    NotConnectedError,
    PortInaccessibleError,
    UnsupportedError,
)
from .frame import DecoderStats, FrameDecoder, encode_frame
from .messages import ACInfo, ConfigInfo, DCInfo, DeviceStateReport, LedStatus, VersionInfo
from .probe import ProbeResult, ProbeStatus, probe
from .sampler import Sampler
from .status import DeviceStatus, StatusReader
from .supervisor import LinkSupervisor
from .uart import LinkStats
from .variables import RamVarInfo

__version__ = "0.1.0"

__all__ = [
    "ACInfo",
    "ChargeAction",
    "ChargeStage",
    "ConfigInfo",
    "DCInfo",
    "DecoderStats",
    "DeviceState",
    "DeviceStateReport",
    "DeviceStatus",
    "FrameDecoder",
    "InterfaceFlags",
    "Led",
    "LedStatus",
    "LinkEvent",
    "LinkIOError",
    "LinkStats",
    "LinkSupervisor",
    "Mk3Client",
    "Mk3Error",
    "NoAnswerError",
    "NotConnectedError",
    "PortInaccessibleError",
    "ProbeResult",
    "ProbeStatus",
    "RamVar",
    "RamVarInfo",
    "Sampler",
    "StatusReader",
    "SwitchRegister",
    "SwitchState",
    "UnsupportedError",
    "VersionInfo",
    "encode_frame",
    "probe",
]

"""Protocol constants: frame markers, command letters, enumerations and RAM ids."""

from __future__ import annotations

from enum import IntEnum, IntFlag

BAUDRATE = 2400

# First payload byte of each frame family.
MK2_FRAME = 0xFF
INFO_FRAME = 0x20
CONFIG_FRAME = 0x41

# Info frame kinds (payload index 5).
DC_INFO_KIND = 0x0C
AC_INFO_KINDS = range(0x05, 0x0C)

# W-family sub-commands and reply codes.
W_READ_RAM = 0x30
W_READ_SETTING = 0x31
W_RAM_INFO = 0x36
W_DEVICE_STATE = 0x0E
W_UNKNOWN_COMMAND = 0x80
W_RAM_VALUES = 0x85
W_SCALE = 0x8E
W_OFFSET = 0x8F
W_UNSUPPORTED = 0x90
W_DEVICE_STATE_REPLY = 0x94
# The Multi's own firmware version, low and high word (uncertain: one public source).
W_VERSION_LOW = 0x05
W_VERSION_HIGH = 0x06
W_VERSION_LOW_REPLY = 0x82
W_VERSION_HIGH_REPLY = 0x83
# Only X, Y and Z: the letter doubles as a nonce (an older note also says W replies are cut
# off after four data bytes; captures contradict it, but rotating three letters costs nothing).
W_LETTERS = (ord("X"), ord("Y"), ord("Z"))

# S command: current limit value meaning "the device's maximum".
LIMIT_DEVICE_MAXIMUM = 0x8000


class SwitchState(IntEnum):
    """Remote panel switch state carried by the S command."""

    CHARGER_ONLY = 1
    INVERTER_ONLY = 2
    ON = 3
    OFF = 4


class DeviceState(IntEnum):
    """VE.Bus device state (info frame index 4)."""

    DOWN = 0
    STARTUP = 1
    OFF = 2
    SLAVE = 3
    INVERT_FULL = 4
    INVERT_HALF = 5
    INVERT_AES = 6
    POWER_ASSIST = 7
    BYPASS = 8
    CHARGE = 9


class ChargeStage(IntEnum):
    """Charger sub-state (W 0x0E reply) while the device state is CHARGE."""

    INIT = 0
    BULK = 1
    ABSORPTION = 2
    FLOAT = 3
    STORAGE = 4
    REPEATED_ABSORPTION = 5
    FORCED_ABSORPTION = 6
    EQUALISE = 7
    BULK_STOPPED = 8


class ChargeAction(IntEnum):
    """W 0x0E actions that force a charge stage (uncertain in public sources)."""

    NONE = 0
    EQUALISE = 1
    ABSORPTION = 2
    FLOAT = 3


class Led(IntFlag):
    """Front panel indicators (L command)."""

    MAINS = 0x01
    ABSORPTION = 0x02
    BULK = 0x04
    FLOAT = 0x08
    INVERTER = 0x10
    OVERLOAD = 0x20
    LOW_BATTERY = 0x40
    TEMPERATURE = 0x80


class InterfaceFlags(IntFlag):
    """MK3 interface flags (H command)."""

    PANEL_DETECT = 0x01
    STANDBY = 0x02
    UNDOCUMENTED = 0x04  # set at power-on; kept as found


class SwitchRegister(IntFlag):
    """Switch register in the config frame (payload index 12)."""

    REMOTE_CHARGE = 0x01
    REMOTE_INVERT = 0x02
    FRONT_SWITCH_UP = 0x04
    FRONT_SWITCH_DOWN = 0x08
    RESULT_CHARGE = 0x10
    RESULT_INVERT = 0x20
    ONBOARD_REMOTE_INVERT = 0x40
    REMOTE_GENERATOR_SELECTED = 0x80


class RamVar(IntEnum):
    """RAM variable ids (W 0x30 / 0x36)."""

    MAINS_VOLTAGE = 0
    MAINS_CURRENT = 1
    INVERTER_VOLTAGE = 2
    INVERTER_CURRENT = 3
    BATTERY_VOLTAGE = 4
    BATTERY_CURRENT = 5
    BATTERY_RIPPLE = 6
    INVERTER_PERIOD = 7
    MAINS_PERIOD = 8
    AC_LOAD_CURRENT = 9
    VIRTUAL_SWITCH = 10
    IGNORE_AC_INPUT = 11
    MULTI_FUNCTIONAL_RELAY = 12
    STATE_OF_CHARGE = 13
    INVERTER_POWER = 14
    INVERTER_POWER_2 = 15
    OUTPUT_POWER = 16

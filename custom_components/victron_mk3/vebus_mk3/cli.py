"""Command line: ``monitor``, ``control``, ``probe`` and ``simulate`` (``python3 cli.py --help``)."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
import logging
import sys
import time

from .client import Mk3Client
from .const import DeviceState, InterfaceFlags, Led, SwitchRegister, SwitchState
from .exceptions import Mk3Error
from .probe import probe
from .status import DeviceStatus, StatusReader

# Names in simulator.profiles.PROFILES, listed here so the other commands never import the simulator
# (a test checks the two agree).
SIMULATOR_PROFILES = ("multiplus2_mk3", "multiplus_24_mk2", "led_append", "three_phase", "parallel")
# Between monitor cycles while the link is down: long enough not to spin, short enough to notice a replug.
RETRY_DELAY = 2.0


def _led_names(leds: Led) -> str:
    return ", ".join(led.name.lower() for led in Led if led in leds and led.name) or "none"


def remote_mode(register: SwitchRegister) -> str:
    """Remote panel state from the switch register's remote charge/invert bits."""
    charge = SwitchRegister.REMOTE_CHARGE in register
    invert = SwitchRegister.REMOTE_INVERT in register
    return {(True, True): "on", (True, False): "charger_only", (False, True): "inverter_only"}.get(
        (charge, invert), "off"
    )


def front_switch(register: SwitchRegister) -> str:
    """Front panel switch position."""
    if SwitchRegister.FRONT_SWITCH_UP in register:
        return "on"
    if SwitchRegister.FRONT_SWITCH_DOWN in register:
        return "charger_only"
    return "off"


def _watts(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f} W"


def _hertz(value: float | None) -> str:
    return "no waveform" if value is None else f"{value:.2f} Hz"


def _name(state: DeviceState | None, code: int) -> str:
    return f"unknown ({code:#04x})" if state is None else state.name.lower()


def format_status(status: DeviceStatus) -> str:
    """A few labelled lines a person can read."""
    dc, config, leds, state = status.dc, status.config, status.leds, status.device_state
    if dc is None or config is None or leds is None:
        return "incomplete reading"
    direction = "charging" if dc.current >= 0 else "discharging"
    lines = [
        f"State      {_name(state, status.ac[1].device_state_code) if 1 in status.ac else 'unknown'}",
        f"LEDs       lit: {_led_names(leds.on)} | blinking: {_led_names(leds.blink)}",
        f"Battery    {dc.voltage:.2f} V  {dc.current:+.1f} A  ({direction}, {abs(dc.power):.0f} W)"
        f"  inverter {_hertz(dc.inverter_frequency)}",
    ]
    for phase, ac in sorted(status.ac.items()):
        lines.append(
            f"AC L{phase}      in {ac.mains_voltage:.1f} V {ac.mains_current:.2f} A"
            f" {_hertz(ac.mains_frequency)}"
            f" | out {ac.inverter_voltage:.1f} V {ac.inverter_current:.2f} A"
        )
    lines += [
        f"Power      AC in {_watts(status.ac_input_power)} | inverter {_watts(status.inverter_power)}"
        f" | AC out {_watts(status.ac_output_power)}",
        f"Config     current limit {config.current_limit:.1f} A"
        f" (range {config.minimum_current_limit:.1f}-{config.maximum_current_limit:.1f} A)"
        f" | remote mode {remote_mode(config.switch_register)}"
        f" | front switch {front_switch(config.switch_register)}",
    ]
    return "\n".join(lines)


async def _monitor(client: Mk3Client) -> None:
    reader = StatusReader(client)
    while True:
        try:
            if not client.connected:
                await client.connect()
            status = await reader.read()
        except Mk3Error as err:
            print(f"{time.strftime('%H:%M:%S')} link problem: {err}", flush=True)
            await asyncio.sleep(RETRY_DELAY)
            continue
        print(f"--- {time.strftime('%H:%M:%S')}\n{format_status(status)}", flush=True)


async def run_monitor(port: str) -> int:
    client = Mk3Client(port)
    await client.connect()
    try:
        await _monitor(client)
    finally:
        await client.close()
    return 0


async def run_control(port: str, mode: str, current_limit: float | None, standby: bool, monitor: bool) -> int:
    client = Mk3Client(port)
    await client.connect()
    try:
        await client.set_state(SwitchState[mode.upper()], current_limit)
        if standby:
            flags = await client.get_interface_flags()
            await client.set_interface_flags(flags | InterfaceFlags.STANDBY)
        config = await client.get_config()
        flags = await client.get_interface_flags()
        print(
            f"Remote mode {remote_mode(config.switch_register)}, current limit {config.current_limit:.1f} A"
            f" (range {config.minimum_current_limit:.1f}-{config.maximum_current_limit:.1f} A),"
            f" standby {'on' if InterfaceFlags.STANDBY in flags else 'off'}",
            flush=True,
        )
        if monitor:
            await _monitor(client)
    finally:
        await client.close()
    return 0


async def run_probe(port: str) -> int:
    result = await probe(port)
    print(f"OK: {result.detail}" if result.ok else f"{result.status.value.upper()}: {result.detail}")
    return 0 if result.ok else 1


async def run_simulate(
    link: str | None, tcp_port: int | None, paced: bool, profile: str, usb_latency: float | None
) -> int:
    from .simulator import run_simulator  # noqa: PLC0415 - only this command needs it

    await run_simulator(link=link, tcp_port=tcp_port, paced=paced, profile=profile, usb_latency=usb_latency)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cli.py", description="Talk to a Victron VE.Bus device through an MK3-USB interface."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every frame")
    commands = parser.add_subparsers(dest="command", required=True)
    monitor = commands.add_parser("monitor", help="show LEDs, battery, AC and config until Ctrl-C")
    monitor.add_argument("port", help="device path, pty or socket://host:port")
    control = commands.add_parser("control", help="set the remote panel mode and current limit")
    control.add_argument("port", help="device path, pty or socket://host:port")
    control.add_argument("mode", choices=[s.name.lower() for s in SwitchState])
    control.add_argument(
        "--current-limit",
        type=float,
        metavar="A",
        help="AC input current limit in amps (default: leave it as it is)",
    )
    control.add_argument("--standby", action="store_true", help="keep the device from sleeping")
    control.add_argument("--monitor", action="store_true", help="keep monitoring afterwards")
    probe_cmd = commands.add_parser("probe", help="check the port; exit status 0 only when an MK3 answers")
    probe_cmd.add_argument("port", help="device path, pty or socket://host:port")
    simulate = commands.add_parser("simulate", help="run a simulated MK3 + Multiplus II")
    simulate.add_argument("--paced", action="store_true", help="real 2400 baud timing")
    simulate.add_argument("--link", metavar="PATH", help="pty symlink to create")
    simulate.add_argument("--tcp", type=int, metavar="PORT", help="also listen on 127.0.0.1:PORT")
    simulate.add_argument(
        "--profile",
        default="multiplus2_mk3",
        choices=SIMULATOR_PROFILES,
        help="which interface + unit to simulate (default: %(default)s)",
    )
    simulate.add_argument(
        "--usb-latency",
        type=float,
        metavar="SECONDS",
        help="with --paced: hand bytes over in chunks this often, like a USB-serial chip (FTDI: 0.016)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING, format="%(asctime)s %(message)s"
    )
    if args.command == "monitor":
        job = run_monitor(args.port)
    elif args.command == "control":
        job = run_control(args.port, args.mode, args.current_limit, args.standby, args.monitor)
    elif args.command == "probe":
        job = run_probe(args.port)
    else:
        job = run_simulate(args.link, args.tcp, args.paced, args.profile, args.usb_latency)
    try:
        return asyncio.run(job)
    except Mk3Error as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130

"""cli.py as a user runs it: subprocesses on a plain Python with only serialx installed."""

from __future__ import annotations

from collections.abc import Iterator
import os
from pathlib import Path
import signal
import subprocess
import sys
import time

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLAIN_PYTHON = ROOT / ".toolchain" / "plain-venv" / "bin" / "python"
# The plain venv proves the CLI needs no Home Assistant; fall back to this interpreter if it is missing.
PYTHON = str(PLAIN_PYTHON) if PLAIN_PYTHON.exists() else sys.executable
CLI = str(ROOT / "cli.py")


def run_cli(*args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, CLI, *args], capture_output=True, text=True, timeout=timeout, check=False, cwd=ROOT
    )


@pytest.fixture
def simulated_port(tmp_path: Path) -> Iterator[str]:
    """`cli.py simulate --link PATH` in the background, as a newcomer would start it."""
    link = tmp_path / "ttyMK3"
    process = subprocess.Popen(
        [PYTHON, CLI, "simulate", "--link", str(link)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 15
    while not link.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "simulator did not create its pty link"
        time.sleep(0.05)
    yield str(link)
    process.send_signal(signal.SIGINT)
    process.wait(timeout=10)


def test_plain_interpreter_has_no_home_assistant() -> None:
    if not PLAIN_PYTHON.exists():
        pytest.skip("scripts/setup found no Python 3.11-3.13 for the plain venv")
    result = subprocess.run(
        [
            PYTHON,
            "-c",
            "import importlib.util as u; print(u.find_spec('homeassistant'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "None"


def test_probe_ok(simulated_port: str) -> None:
    result = run_cli("probe", simulated_port)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OK: MK3 interface version 1170216")


def test_probe_missing_port_is_one_clear_line(tmp_path: Path) -> None:
    result = run_cli("probe", str(tmp_path / "ttyUSB7"))
    assert result.returncode == 1
    assert result.stdout.startswith("INACCESSIBLE: cannot open")
    assert "Traceback" not in result.stdout + result.stderr


def test_control_sets_mode_limit_and_standby(simulated_port: str) -> None:
    result = run_cli("control", simulated_port, "charger_only", "--current-limit", "12.5", "--standby")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "Remote mode charger_only, current limit 12.5 A (range 3.6-50.0 A), standby on"
    )
    # No --current-limit: the limit stays as it is (the seed CLI set the maximum).
    result = run_cli("control", simulated_port, "on")
    assert "Remote mode on, current limit 12.5 A" in result.stdout  # no limit given: kept


def test_control_on_a_missing_port_fails_cleanly(tmp_path: Path) -> None:
    result = run_cli("control", str(tmp_path / "nope"), "off")
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot open")
    assert "Traceback" not in result.stderr


def test_control_rejects_an_unknown_mode(simulated_port: str) -> None:
    result = run_cli("control", simulated_port, "turbo")
    assert result.returncode == 2
    assert "invalid choice: 'turbo'" in result.stderr


def test_monitor_until_ctrl_c(simulated_port: str) -> None:
    process = subprocess.Popen(
        [PYTHON, CLI, "monitor", simulated_port],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 15
    while not any(line.startswith("Config") for line in lines) and time.monotonic() < deadline:
        lines.append(process.stdout.readline())
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=10)
    text = "".join(lines) + out
    assert process.returncode == 130
    assert "Traceback" not in err
    assert "Battery" in text
    assert "AC L1      in 230.0 V" in text
    assert "current limit 16.0 A (range 3.6-50.0 A) | remote mode on | front switch on" in text

"""`python -m build` makes a wheel of the protocol library alone, usable without Home Assistant."""

from __future__ import annotations

from pathlib import Path
import subprocess
import sys
import zipfile

ROOT = Path(__file__).resolve().parents[2]
PLAIN_PYTHON = ROOT / ".toolchain" / "plain-venv" / "bin" / "python"


def test_wheel_holds_only_the_library(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("vebus_mk3-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "vebus_mk3/py.typed" in names
    assert "vebus_mk3/simulator/model.py" in names
    assert not [name for name in names if name.startswith("custom_components")]

    target = tmp_path / "site"
    python = str(PLAIN_PYTHON) if PLAIN_PYTHON.exists() else sys.executable
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    probe = subprocess.run(
        [python, "-c", "import vebus_mk3; print(vebus_mk3.__version__, vebus_mk3.Mk3Client.__name__)"],
        check=True,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(target)},
    )
    assert probe.stdout.split() == ["0.1.0", "Mk3Client"]

"""Answer "is there a working MK3 on this port?" quickly, without the idle timeout."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
import time

from .client import Mk3Client
from .exceptions import LinkIOError, NoAnswerError, PortInaccessibleError
from .messages import VersionInfo

PROBE_ATTEMPTS = 2


class ProbeStatus(StrEnum):
    """Outcome of a probe."""

    OK = "ok"
    INACCESSIBLE = "inaccessible"
    IO_ERROR = "io_error"
    UNRESPONSIVE = "unresponsive"


@dataclass(frozen=True)
class ProbeResult:
    """What a probe found, with a sentence a person can read."""

    status: ProbeStatus
    detail: str
    version: VersionInfo | None = None
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        """True when an MK3 answered."""
        return self.status is ProbeStatus.OK


async def probe(url: str) -> ProbeResult:
    """Open ``url``, ask for the version and close again (at most ~1.2 s)."""
    started = time.monotonic()
    client = Mk3Client(url)
    client.retries = 0  # the attempts below are the retries

    def result(status: ProbeStatus, detail: str, version: VersionInfo | None = None) -> ProbeResult:
        return ProbeResult(status, detail, version, time.monotonic() - started)

    try:
        await client.connect()
    except PortInaccessibleError as err:
        return result(ProbeStatus.INACCESSIBLE, str(err))
    version: VersionInfo | None = None
    try:
        for _attempt in range(PROBE_ATTEMPTS):
            try:
                version = await client.get_version()
                break
            except NoAnswerError:
                continue
    except LinkIOError as err:
        return result(ProbeStatus.IO_ERROR, str(err))
    finally:
        await client.close()
    if version is None:
        return result(
            ProbeStatus.UNRESPONSIVE,
            f"{url} opened but nothing answered: the device is asleep, unpowered, or this is not an MK3",
        )
    return result(ProbeStatus.OK, f"MK3 interface version {version.version}", version)

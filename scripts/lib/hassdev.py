"""A real Home Assistant in a subprocess, driven the way a person's browser drives it.

Shared by ``scripts/develop``, ``scripts/screenshots`` and ``tests/e2e``. The configuration
directory holds links to the repository (``develop/configuration.yaml``, the example dashboard
and ``custom_components``) plus two store files written before the first start: the HTTP
server's address (Home Assistant keeps it in ``.storage/http``, not in YAML) and the onboarding
step we skip (``core_config``: its location and units come from YAML, and finishing it through
the API would set up integrations that reach the internet). Everything else happens through Home
Assistant's public REST and websocket APIs: creating the owner, logging in, config and options
flows, states and actions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
import contextlib
import json
import os
from pathlib import Path
import shutil
import signal
import socket
import subprocess
import sys
import time
from typing import Any, Final, Self, cast

import aiohttp

REPO: Final = Path(__file__).resolve().parents[2]
TEMPLATE_DIR: Final = REPO / "develop"
DOMAIN: Final = "victron_mk3"

# The login scripts/develop and scripts/screenshots create; documented in the README.
USERNAME: Final = "dev"
PASSWORD: Final = "dev"
OWNER_NAME: Final = "Developer"

DASHBOARD_URL_PATH: Final = "victron-mk3"
DASHBOARD_FILE: Final = "victron_mk3_dashboard.yaml"
LOG_FILE: Final = "home-assistant.log"
CONSOLE_LOG_FILE: Final = "home-assistant.console.log"

# Home Assistant exits with this code when a user restarts it from the UI.
RESTART_EXIT_CODE: Final = 100
STOP_TIMEOUT: Final = 60.0
START_TIMEOUT: Final = 120.0
POLL_INTERVAL: Final = 0.2
ENTITY_TIMEOUT: Final = 60.0


class DevError(Exception):
    """Something the person running the script can fix; shown without a traceback."""


# ---- ports ----------------------------------------------------------------------------------


def check_port_free(host: str, port: int) -> None:
    """Raise ``DevError`` naming the port when something already listens there."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # Home Assistant binds with SO_REUSEADDR too: a port in TIME_WAIT is not "in use".
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as err:
            raise DevError(
                f"port {port} on {host} is already in use ({err.strerror}). Stop whatever listens there"
                f" (`ss -ltnp 'sport = :{port}'` shows it) or pick another port with --port."
            ) from err


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


# ---- configuration directory ----------------------------------------------------------------


def _link(target: Path, link: Path) -> None:
    """Point ``link`` at ``target``: relatively inside the repository, so it survives a move."""
    inside = link.parent.resolve().is_relative_to(REPO)
    source = os.path.relpath(target, link.parent.resolve()) if inside else str(target)
    if link.is_symlink() and os.readlink(link) == source:
        return
    if link.is_symlink() or link.is_file():
        link.unlink()
    elif link.exists():
        raise DevError(f"{link} is in the way of the link to {target}; move it away")
    link.symlink_to(source)


def _write_store(path: Path, key: str, version: int, minor_version: int, data: Mapping[str, Any]) -> None:
    """Write a ``.storage`` file the way Home Assistant's ``Store`` does."""
    path.parent.mkdir(parents=True, exist_ok=True)
    content = {"version": version, "minor_version": minor_version, "key": key, "data": data}
    tmp = path.with_name(f"{path.name}.tmp")
    tmp.write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def write_http_settings(config_dir: Path, host: str, port: int) -> None:
    """Where the web server listens; Home Assistant keeps this in ``.storage/http``.

    Written before every start (Home Assistant is not running then), so ``--port`` and
    ``--host`` always apply. Defaults come from Home Assistant's own schema.
    """
    from homeassistant.components.http import config as http_config  # noqa: PLC0415 - heavy import

    settings = dict(http_config.HTTP_STORAGE_SCHEMA({"server_host": [host], "server_port": port}))
    stable = {**settings, "created_at": "2026-01-01T00:00:00+00:00", "error": None, "error_message": None}
    _write_store(
        config_dir / ".storage" / "http",
        http_config.STORAGE_KEY,
        http_config.STORAGE_VERSION,
        http_config.STORAGE_MINOR_VERSION,
        {"stable": stable, "pending": None, "yaml_migration_done": True},
    )


def seed_onboarding(config_dir: Path) -> None:
    """Mark the ``core_config`` step done before the first start; the API does the rest.

    Finishing that step through the API would set up integrations that reach the internet
    (weather, text-to-speech, radio); the configuration sets location and units in YAML.
    """
    path = config_dir / ".storage" / "onboarding"
    if not path.exists():
        _write_store(path, "onboarding", 4, 1, {"done": ["core_config"]})


def prepare_config_dir(config_dir: Path, host: str, port: int) -> None:
    """Create or refresh a configuration directory for this repository."""
    config_dir.mkdir(parents=True, exist_ok=True)
    _link(TEMPLATE_DIR / "configuration.yaml", config_dir / "configuration.yaml")
    _link(TEMPLATE_DIR / "dashboard.yaml", config_dir / DASHBOARD_FILE)
    _link(REPO / "custom_components", config_dir / "custom_components")
    write_http_settings(config_dir, host, port)
    seed_onboarding(config_dir)


# ---- the process ----------------------------------------------------------------------------


class HomeAssistantProcess:
    """``python -m homeassistant`` on a configuration directory, in its own process group.

    Its own session keeps a terminal's Ctrl-C away from it: the owner decides when it stops.
    ``setpriv --pdeathsig`` makes it stop too if the owner dies without cleaning up.
    """

    def __init__(self, config_dir: Path) -> None:
        self.config_dir = config_dir
        self.log_path = config_dir / LOG_FILE
        self.console_path = config_dir / CONSOLE_LOG_FILE
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def start(self) -> None:
        """Start it; the console output (normally a copy of the log) goes to a file."""
        command = [
            sys.executable,
            "-m",
            "homeassistant",
            "--config",
            str(self.config_dir),
            # Everything it needs is installed by scripts/setup; never pip-install at run time.
            "--skip-pip",
            "--log-no-color",
        ]
        if setpriv := shutil.which("setpriv"):
            command = [setpriv, "--pdeathsig", "TERM", "--", *command]
        env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST")}
        env.pop("SUPERVISOR", None)  # would make it a Supervisor installation
        with self.console_path.open("wb") as console:
            self.proc = subprocess.Popen(
                command,
                cwd=self.config_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def stop(self, timeout: float = STOP_TIMEOUT) -> int | None:
        """Ask it to stop (SIGTERM, as ``ha core stop`` does); kill it after ``timeout``."""
        proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def log_tail(self, lines: int = 30) -> str:
        """The end of the log (or of the console output when the log never got written)."""
        for path in (self.log_path, self.console_path):
            with contextlib.suppress(OSError):
                text = path.read_text(encoding="utf-8", errors="replace").strip()
                if text:
                    return "\n".join(text.splitlines()[-lines:])
        return "(no output)"

    def log_since_start(self) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        return ""


# ---- the API --------------------------------------------------------------------------------


class ApiError(Exception):
    """Home Assistant answered a request with an error."""


async def wait_for(
    predicate: Callable[[], Any], within: float, what: str, interval: float = POLL_INTERVAL
) -> Any:
    """Await ``predicate()`` (sync or async) until it returns something truthy, for ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {within:.0f} s waiting for {what}")
        await asyncio.sleep(interval)


class HomeAssistantClient:
    """REST and websocket calls as the frontend makes them, with the owner's token."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url.rstrip("/")
        self.client_id = f"{self.url}/"
        self.tokens: dict[str, Any] = {}
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._ws_id = 0
        self._ws_lock = asyncio.Lock()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
            self._ws = None

    # -- plain HTTP ---------------------------------------------------------------------------

    @property
    def _auth(self) -> dict[str, str]:
        token = self.tokens.get("access_token")
        return {"Authorization": f"Bearer {token}"} if token else {}

    async def request(self, method: str, path: str, json_body: Any = None, *, auth: bool = True) -> Any:
        """One REST call; the decoded JSON answer (None when empty)."""
        headers = self._auth if auth else {}
        async with self.session.request(method, self.url + path, json=json_body, headers=headers) as resp:
            text = await resp.text()
            if resp.status >= 400:
                raise ApiError(f"{method} {path}: HTTP {resp.status} {text[:500]}")
            return json.loads(text) if text else None

    async def get(self, path: str) -> Any:
        return await self.request("GET", path)

    async def post(self, path: str, json_body: Any = None, *, auth: bool = True) -> Any:
        return await self.request("POST", path, json_body, auth=auth)

    async def http_up(self) -> bool:
        """Whether the web server answers yet."""
        try:
            async with self.session.get(self.url + "/auth/providers") as resp:
                return resp.status < 500
        except (aiohttp.ClientError, OSError):
            return False

    async def wait_until_up(self, process: HomeAssistantProcess, within: float = START_TIMEOUT) -> None:
        """Until the web server answers; fails at once, with the log's end, if the process dies."""

        async def up() -> bool:
            if not process.running:
                raise DevError(
                    f"Home Assistant exited with code {process.returncode} before its web server came"
                    f" up. The end of {process.log_path}:\n{process.log_tail()}"
                )
            return await self.http_up()

        await wait_for(up, within, f"Home Assistant's web server at {self.url}")

    # -- onboarding and login -----------------------------------------------------------------

    async def _token_from_code(self, code: str) -> None:
        data = {"grant_type": "authorization_code", "code": code, "client_id": self.client_id}
        async with self.session.post(self.url + "/auth/token", data=data) as resp:
            if resp.status != 200:
                raise ApiError(f"/auth/token: HTTP {resp.status} {await resp.text()}")
            self.tokens = cast(dict[str, Any], await resp.json())
        self.tokens["obtained_at"] = time.time()

    async def onboarding_status(self) -> dict[str, bool] | None:
        """Done flag per onboarding step; None once onboarding is over (the view is gone)."""
        async with self.session.get(self.url + "/api/onboarding") as resp:
            if resp.status == 404:
                return None
            if resp.status != 200:
                raise ApiError(f"/api/onboarding: HTTP {resp.status} {await resp.text()}")
            steps = cast(list[dict[str, Any]], await resp.json())
        return {step["step"]: bool(step["done"]) for step in steps}

    async def onboard_or_login(
        self, username: str = USERNAME, password: str = PASSWORD, name: str = OWNER_NAME
    ) -> bool:
        """Create the owner as the onboarding wizard does, or log in; True when onboarding ran."""
        steps = await self.onboarding_status()
        onboarded = False
        if steps is not None and not steps.get("user", True):
            answer = await self.post(
                "/api/onboarding/users",
                {
                    "client_id": self.client_id,
                    "name": name,
                    "username": username,
                    "password": password,
                    "language": "en",
                },
                auth=False,
            )
            await self._token_from_code(answer["auth_code"])
            onboarded = True
        else:
            await self.login(username, password)
        if steps is not None:
            if not steps.get("core_config", True):
                raise DevError("onboarding waits for its core_config step; was .storage/onboarding removed?")
            if not steps.get("analytics", True):
                await self.post("/api/onboarding/analytics")
            if not steps.get("integration", True):
                await self.post(
                    "/api/onboarding/integration",
                    {"client_id": self.client_id, "redirect_uri": f"{self.url}/?auth_callback=1"},
                )
            onboarded = True
        return onboarded

    async def login(self, username: str = USERNAME, password: str = PASSWORD) -> None:
        """The login page's flow: username and password for an authorization code."""
        flow = await self.post(
            "/auth/login_flow",
            {
                "client_id": self.client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": f"{self.url}/?auth_callback=1",
            },
            auth=False,
        )
        result = await self.post(
            f"/auth/login_flow/{flow['flow_id']}",
            {"client_id": self.client_id, "username": username, "password": password},
            auth=False,
        )
        if result.get("type") != "create_entry":
            raise DevError(
                f"logging in as {username!r} failed ({result.get('errors')}); the configuration directory"
                " has another owner: start afresh with --reset"
            )
        await self._token_from_code(result["result"])

    def browser_tokens(self) -> dict[str, Any]:
        """What the frontend keeps in ``localStorage.hassTokens`` after a login."""
        expires_in = int(self.tokens["expires_in"])
        return {
            "access_token": self.tokens["access_token"],
            "refresh_token": self.tokens["refresh_token"],
            "token_type": "Bearer",
            "expires_in": expires_in,
            "expires": int((self.tokens["obtained_at"] + expires_in) * 1000),
            "hassUrl": self.url,
            "clientId": self.client_id,
        }

    # -- websocket ----------------------------------------------------------------------------

    async def ws(self, command: str, **fields: Any) -> Any:
        """One websocket command; its result."""
        async with self._ws_lock:
            if self._ws is None or self._ws.closed:
                self._ws = await self._ws_connect()
            self._ws_id += 1
            message_id = self._ws_id
            await self._ws.send_json({"id": message_id, "type": command, **fields})
            while True:
                message = await self._ws.receive_json()
                if message.get("id") == message_id and message.get("type") == "result":
                    break
        if not message["success"]:
            raise ApiError(f"{command}: {message['error']}")
        return message["result"]

    async def _ws_connect(self) -> aiohttp.ClientWebSocketResponse:
        ws = await self.session.ws_connect(self.url.replace("http", "ws", 1) + "/api/websocket")
        hello = await ws.receive_json()
        if hello.get("type") != "auth_required":
            raise ApiError(f"websocket: unexpected greeting {hello}")
        await ws.send_json({"type": "auth", "access_token": self.tokens["access_token"]})
        answer = await ws.receive_json()
        if answer.get("type") != "auth_ok":
            raise ApiError(f"websocket: {answer}")
        return ws

    async def wait_until_running(self, within: float = START_TIMEOUT) -> dict[str, Any]:
        """Until start-up is over (every integration set up or given up on); the core config."""

        async def running() -> dict[str, Any] | None:
            config = cast(dict[str, Any], await self.ws("get_config"))
            return config if config.get("state") == "RUNNING" else None

        return cast(dict[str, Any], await wait_for(running, within, "Home Assistant to finish starting"))

    # -- integrations, entities, actions ------------------------------------------------------

    async def config_entries(self, domain: str = DOMAIN) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], await self.get(f"/api/config/config_entries/entry?domain={domain}"))

    async def add_integration(self, user_input: dict[str, Any], domain: str = DOMAIN) -> dict[str, Any]:
        """Settings → Devices & services → Add integration, then submit the form."""
        form = await self.post(
            "/api/config/config_entries/flow", {"handler": domain, "show_advanced_options": False}
        )
        if form.get("type") != "form":
            raise ApiError(f"adding {domain}: expected a form, got {form}")
        result = cast(
            dict[str, Any], await self.post(f"/api/config/config_entries/flow/{form['flow_id']}", user_input)
        )
        if result.get("type") != "create_entry":
            raise ApiError(f"adding {domain}: the flow ended with {result}")
        return result

    async def set_options(self, entry_id: str, user_input: dict[str, Any]) -> dict[str, Any]:
        """The entry's ⋮ → Configure, then submit the form."""
        form = await self.post("/api/config/config_entries/options/flow", {"handler": entry_id})
        if form.get("type") != "form":
            raise ApiError(f"options of {entry_id}: expected a form, got {form}")
        return cast(
            dict[str, Any],
            await self.post(f"/api/config/config_entries/options/flow/{form['flow_id']}", user_input),
        )

    async def entities(self, entry_id: str) -> dict[str, str]:
        """Entity ids of a config entry by key (the unique id without the entry id)."""
        entries = cast(list[dict[str, Any]], await self.ws("config/entity_registry/list"))
        prefix = f"{entry_id}-"
        return {
            entry["unique_id"].removeprefix(prefix): entry["entity_id"]
            for entry in entries
            if entry.get("config_entry_id") == entry_id
        }

    async def device_id(self, entry_id: str) -> str:
        """The entry's VE.Bus device (identified by the entry id; the other one is its MK3 interface)."""
        devices = cast(list[dict[str, Any]], await self.ws("config/device_registry/list"))
        for device in devices:
            if [DOMAIN, entry_id] in device.get("identifiers", []):
                return cast(str, device["id"])
        raise ApiError(f"no device for config entry {entry_id}")

    async def state(self, entity_id: str) -> dict[str, Any] | None:
        try:
            return cast(dict[str, Any], await self.get(f"/api/states/{entity_id}"))
        except ApiError as err:
            if "HTTP 404" in str(err):
                return None
            raise

    async def states(self) -> dict[str, dict[str, Any]]:
        return {state["entity_id"]: state for state in await self.get("/api/states")}

    async def call_service(self, domain: str, service: str, data: dict[str, Any]) -> Any:
        return await self.post(f"/api/services/{domain}/{service}", data)


async def wait_for_device(client: HomeAssistantClient, entry_id: str) -> tuple[str, str]:
    """Until the device's entities have values; its device id and the mode select's entity id."""
    entities = await wait_for(lambda: client.entities(entry_id), ENTITY_TIMEOUT, "the integration's entities")
    select = entities.get("remote_panel_mode")
    if select is None:
        raise DevError(f"the integration created no remote panel mode select (entities: {sorted(entities)})")

    async def available() -> bool:
        state = await client.state(select)
        return state is not None and state["state"] not in ("unavailable", "unknown")

    await wait_for(available, ENTITY_TIMEOUT, f"{select} to get a value")
    return await client.device_id(entry_id), select


async def start_and_connect(
    process: HomeAssistantProcess, client: HomeAssistantClient, within: float = START_TIMEOUT
) -> bool:
    """Start Home Assistant, log in (onboarding on the first start) and wait until it runs.

    True when onboarding ran. On failure the process is stopped and the log's end is in the error.
    """
    process.start()
    try:
        await client.wait_until_up(process, within)
        onboarded = await client.onboard_or_login()
        await client.wait_until_running(within)
    except BaseException:
        await asyncio.to_thread(process.stop)
        raise
    return onboarded

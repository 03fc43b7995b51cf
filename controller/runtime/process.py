"""Starting a line runtime as a child process, or finding one already running.

``poreline serve`` without ``--line-runtime`` runs the line on the built-in simulator (or
its plant file) in a runtime it starts itself: a child process ``poreline line run``. If a
runtime of that line already answers on its channel (the API was restarted and the runtime
went on), the API attaches to it instead of starting a second one.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controller.runtime import channel
from controller.runtime.client import RuntimeClient, RuntimeRefused, RuntimeUnavailable

log = logging.getLogger(__name__)

START_TIMEOUT_S = 60.0  # a first start migrates the database; a slow CI machine takes seconds
STOP_TIMEOUT_S = 45.0


@dataclass(frozen=True, slots=True)
class ChildSettings:
    line_id: str
    state_dir: Path
    database_url: str
    kind: str | None = None
    plant_file: Path | None = None
    speed: float = 1.0
    scan_period_s: float = 1.0
    sample_period_s: float = 10.0
    seed: int = 0

    @property
    def endpoint(self) -> str:
        return channel.endpoint_for(self.state_dir, self.line_id)

    def configuration(self) -> dict[str, Any]:
        return channel.configuration(kind=self.kind or "", database_url=self.database_url, plant_file=self.plant_file,
                                     speed=self.speed, scan_period_s=self.scan_period_s,
                                     sample_period_s=self.sample_period_s, seed=self.seed)

    def arguments(self) -> list[str]:
        args = [sys.executable, "-m", "controller.cli.line", "run", "--line-id", self.line_id,
                "--state-dir", str(self.state_dir), "--database", self.database_url, "--speed", repr(self.speed),
                "--scan-period", repr(self.scan_period_s), "--sample-period", repr(self.sample_period_s),
                "--seed", str(self.seed)]
        if self.kind is not None:
            args += ["--line", self.kind]
        if self.plant_file is not None:
            args += ["--plant", str(self.plant_file)]
        return args


class ChildRuntime:
    """A runtime this process started (``process`` is None when one was already running)."""

    def __init__(self, settings: ChildSettings) -> None:
        self.settings = settings
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self) -> tuple[str, str]:
        """(endpoint, key) of a runtime of the line that answers: an existing one, or a new child."""
        endpoint = self.settings.endpoint
        key_path = channel.key_path_for(endpoint)
        if key_path.exists() and (running := await configuration_of(endpoint, channel.read_key(key_path))) is not None:
            self._check_same(running)
            log.info("attached to the running line runtime at %s", endpoint)
            return endpoint, channel.read_key(key_path)
        self.settings.state_dir.mkdir(parents=True, exist_ok=True)
        log_file = (self.settings.state_dir / f"{self.settings.line_id}.log").open("ab")
        # once, at start (Popen returns at once); a new session: the runtime outlives a killed API
        self.process = subprocess.Popen(self.settings.arguments(), stdout=log_file,  # noqa: ASYNC220
                                        stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the line runtime exited with {self.process.returncode}; see "
                                   f"{self.settings.state_dir / (self.settings.line_id + '.log')}")
            if key_path.exists() and await configuration_of(endpoint, channel.read_key(key_path)) is not None:
                return endpoint, channel.read_key(key_path)
            await asyncio.sleep(0.1)
        self.process.terminate()
        raise RuntimeError(f"the line runtime did not answer on {endpoint} within {START_TIMEOUT_S:g} s")

    def _check_same(self, running: dict[str, Any]) -> None:
        """Refuse to attach to a runtime of this line that runs something else (another
        database, plant file, kind or speed): the server would show one line and command another."""
        wanted = self.settings.configuration()
        differing = sorted(name for name, value in wanted.items() if running.get(name) != value)
        if differing:
            raise RuntimeError(f"a line runtime of {self.settings.line_id} already runs at {self.settings.endpoint} "
                               f"with another {', '.join(differing)}; stop it or give this server its own --state-dir")

    async def stop(self) -> None:
        """Stop the child this process started (SIGTERM: the line stops through PackML Stop)."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while process.poll() is None and time.monotonic() < deadline:  # noqa: ASYNC110 - polling a child process
            await asyncio.sleep(0.05)
        if process.poll() is None:
            log.error("the line runtime did not stop within %.0f s; killed", STOP_TIMEOUT_S)
            process.kill()


async def configuration_of(endpoint: str, key: str, timeout_s: float = 1.0) -> dict[str, Any] | None:
    """What the runtime answering at ``endpoint`` runs; None when none answers."""
    client = RuntimeClient(endpoint, key, timeout_s=timeout_s)
    try:
        await client.connect()
        health = await client.request("health")
    except (RuntimeUnavailable, RuntimeRefused):
        return None
    finally:
        await client.close()
    configuration: dict[str, Any] = health.get("configuration", {})
    return configuration

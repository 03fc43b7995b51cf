"""The API's connection to its line runtime (``controller.runtime``): the runtime is another
process; the API is one of its clients.

Without ``--line-runtime`` the API starts the runtime itself as a child process (or attaches
to the one still running from before it restarted); with it, it attaches to runtimes started
elsewhere (systemd). State, step and alarms come from the runtime's pushes (at most a tenth of
a second old); commands go to the runtime and are answered when it has acted. When the
runtime does not answer, every route that needs it answers 503 with the reason, and the API
reconnects by itself when the runtime is back.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import HTTPException, status

from controller.api.settings import Settings
from controller.assembly import checked_kind
from controller.lines import LineKind, kind_named
from controller.recipe.adjust import Adjustment
from controller.recipe.document import to_document
from controller.recipe.model import CompiledRecipe
from controller.runtime import channel
from controller.runtime.client import RuntimeClient, RuntimeRefused, RuntimeUnavailable
from controller.runtime.process import ChildRuntime, ChildSettings
from drivers.definition import LineDefinition

log = logging.getLogger(__name__)

LINE_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


@dataclass(frozen=True, slots=True)
class RuntimeAddress:
    """Where an attached runtime answers: ``[LINE_ID=]ENDPOINT`` on the command line."""

    endpoint: str
    line_id: str | None = None  # None: the runtime says which line it runs

    @classmethod
    def parse(cls, text: str) -> RuntimeAddress:
        line_id, separator, endpoint = text.partition("=")
        if not separator:
            line_id, endpoint = "", text
        if not endpoint.startswith(("ipc://", "tcp://")):
            raise ValueError(f"line runtime {text!r}: expected [LINE_ID=]ipc://PATH or [LINE_ID=]tcp://HOST:PORT")
        if separator and not LINE_ID.fullmatch(line_id):
            raise ValueError(
                f"line runtime {text!r}: {line_id!r} is not a line id (lower-case letters, digits, - and _; e.g. line-2)"
            )
        return cls(endpoint, line_id or None)


def runtime_addresses(settings: Settings) -> list[tuple[RuntimeAddress, Path]]:
    """The runtimes to attach to, each with its key file: the i-th ``line_runtime_key``
    belongs to the i-th ``line_runtime``; without one, the key next to an ipc socket."""
    keys = list(settings.line_runtime_key)
    if len(keys) > len(settings.line_runtime):
        raise ValueError(f"{len(keys)} runtime key files for {len(settings.line_runtime)} line runtimes")
    attached = []
    for index, text in enumerate(settings.line_runtime):
        address = RuntimeAddress.parse(text)
        key = keys[index] if index < len(keys) else channel.key_path_for(address.endpoint)
        attached.append((address, key))
    return attached


class LineConnection:
    """The API's client of one line runtime: a child it started, or one it attached to."""

    def __init__(self, endpoint: str, key: str, expected_line_id: str | None = None,
                 child: ChildRuntime | None = None) -> None:
        self.endpoint = endpoint
        self.expected_line_id = expected_line_id
        self._child = child
        self._client = RuntimeClient(endpoint, key)

    @classmethod
    async def start_child(cls, settings: Settings) -> LineConnection:
        """Start the line's runtime as a child process (or attach to the one still running)."""
        kind = checked_kind(settings.plant, settings.line_kind)
        line_id = kind.definition().name
        child = ChildRuntime(ChildSettings(
            line_id=line_id, state_dir=Path(settings.state_dir).resolve(),  # noqa: ASYNC240 - once, at start
            database_url=settings.database_url, kind=kind.name, plant_file=settings.plant,
            speed=settings.sim_speed, scan_period_s=settings.scan_period_s,
            sample_period_s=settings.sample_period_s, seed=settings.sim_seed))
        endpoint, key = await child.start()
        connection = cls(endpoint, key, line_id, child)
        await connection.connect()
        return connection

    @classmethod
    async def attach(cls, address: RuntimeAddress, key_path: Path) -> LineConnection:
        """Attach to a runtime started elsewhere. Without a line id its runtime must answer
        now, to say which line it runs."""
        connection = cls(address.endpoint, channel.read_key(key_path), address.line_id)
        await connection.connect()
        if connection.expected_line_id is None:
            status_now = connection._client.status
            if status_now is None:
                await connection.close()
                raise RuntimeError(f"the line runtime at {address.endpoint} does not answer; name its line: "
                                   f"--line-runtime LINE_ID={address.endpoint}")
            connection.expected_line_id = str(status_now["line_id"])
        return connection

    async def connect(self) -> None:
        await self._client.connect()
        if not await self._client.wait_connected(10.0):
            log.warning("the line runtime at %s does not answer yet", self.endpoint)

    @property
    def line_id(self) -> str:
        return self.expected_line_id or ""

    async def close(self) -> None:
        await self._client.close()
        if self._child is not None:
            await self._child.stop()

    # ------------------------------------------------------------ state
    @property
    def client(self) -> RuntimeClient:
        return self._client

    @property
    def connected(self) -> bool:
        return self._client.connected

    def status(self) -> dict[str, Any]:
        """The runtime's latest status; 503 when it is not connected (never a stale state)."""
        client = self.client
        if not client.connected or client.status is None:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                                f"line runtime at {self.endpoint} is not connected; the line's state is unknown")
        self._check_line(client.status)
        if not client.status.get("scanning", False):  # never a state the line is not scanning to keep
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                                f"line runtime at {self.endpoint} is not scanning; GET /line/health says why")
        return client.status

    @property
    def kind(self) -> LineKind:
        return kind_named(str(self.status()["line_kind"]))

    @property
    def definition(self) -> LineDefinition:
        return self.kind.definition(str(self.status()["line_id"]))

    def _check_line(self, status_now: dict[str, Any] | None) -> None:
        """503 when the runtime at the endpoint runs another line than the one it was named for."""
        running = status_now.get("line_id") if status_now is not None else None
        if self.expected_line_id is not None and running is not None and running != self.expected_line_id:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                                f"the runtime at {self.endpoint} runs line {running}, not {self.expected_line_id}; "
                                "check --line-runtime")

    async def call(self, op: str, **args: Any) -> Any:
        """A request to the runtime; its refusals become the HTTP answers they name. Only its
        health is asked of a runtime that runs another line than it was named for."""
        if op != "health":
            self._check_line(self.client.status)
        try:
            return await self.client.request(op, **args)
        except RuntimeUnavailable as exc:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None
        except RuntimeRefused as exc:
            raise RuntimeAnswer(exc.status, exc.detail, exc.state) from None

    # ------------------------------------------------------------ commands
    async def start_run(self, recipe: CompiledRecipe, user: str, reason: str,
                        audit: dict[str, Any], released_for_line: str | None = None,
                        adjustments: Sequence[Adjustment] = ()) -> dict[str, Any]:
        document = to_document(recipe, kind_named(recipe.header.line_kind).block_document)
        result: dict[str, Any] = await self.call("start_run", document=document, user=user, reason=reason,
                                                 audit=audit, released_for_line=released_for_line,
                                                 adjustments=[a.as_record() for a in adjustments])
        return result


class RuntimeAnswer(Exception):
    """A refusal of the runtime, answered as it says (409 carries the state)."""

    def __init__(self, status_code: int, detail: str, state: str | None) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.state = state

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
from pathlib import Path
from typing import Any

from fastapi import HTTPException, status

from controller.api.settings import Settings
from controller.assembly import checked_kind
from controller.lines import LineKind, kind_named
from controller.recipe.document import to_document
from controller.recipe.model import CompiledRecipe
from controller.runtime import channel
from controller.runtime.client import RuntimeClient, RuntimeRefused, RuntimeUnavailable
from controller.runtime.process import ChildRuntime, ChildSettings
from drivers.definition import LineDefinition

log = logging.getLogger(__name__)


class LineConnection:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._child: ChildRuntime | None = None
        self._client: RuntimeClient | None = None
        self.endpoint = ""

    # ------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        settings = self.settings
        if settings.line_runtime:
            endpoint = settings.line_runtime
            key_path = settings.line_runtime_key or channel.key_path_for(endpoint)
            key = channel.read_key(Path(key_path))
        else:
            kind = self._kind_for_child()
            self._child = ChildRuntime(ChildSettings(
                line_id=kind.definition().name, state_dir=Path(settings.state_dir).resolve(),  # noqa: ASYNC240 - once, at start
                database_url=settings.database_url, kind=kind.name, plant_file=settings.plant,
                speed=settings.sim_speed, scan_period_s=settings.scan_period_s,
                sample_period_s=settings.sample_period_s, seed=settings.sim_seed))
            endpoint, key = await self._child.start()
        self.endpoint = endpoint
        self._client = RuntimeClient(endpoint, key)
        await self._client.connect()
        if not await self._client.wait_connected(10.0):
            log.warning("the line runtime at %s does not answer yet", endpoint)

    def _kind_for_child(self) -> LineKind:
        return checked_kind(self.settings.plant, self.settings.line_kind)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
        if self._child is not None:
            await self._child.stop()

    # ------------------------------------------------------------ state
    @property
    def client(self) -> RuntimeClient:
        if self._client is None:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the line runtime is not connected yet")
        return self._client

    @property
    def connected(self) -> bool:
        return self._client is not None and self._client.connected

    def status(self) -> dict[str, Any]:
        """The runtime's latest status; 503 when it is not connected (never a stale state)."""
        client = self.client
        if not client.connected or client.status is None:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                                f"line runtime at {self.endpoint} is not connected; the line's state is unknown")
        if not client.status.get("scanning", False):  # never a state the line is not scanning to keep
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                                f"line runtime at {self.endpoint} is not scanning; GET /line/health says why")
        return client.status

    @property
    def definition(self) -> LineDefinition:
        st = self.status()
        return kind_named(str(st["line_kind"])).definition(str(st["line_id"]))

    async def call(self, op: str, **args: Any) -> Any:
        """A request to the runtime; its refusals become the HTTP answers they name."""
        try:
            return await self.client.request(op, **args)
        except RuntimeUnavailable as exc:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None
        except RuntimeRefused as exc:
            raise RuntimeAnswer(exc.status, exc.detail, exc.state) from None

    # ------------------------------------------------------------ commands
    async def start_run(self, recipe: CompiledRecipe, user: str, reason: str,
                        audit: dict[str, Any], released_for_line: str | None = None) -> dict[str, Any]:
        document = to_document(recipe, kind_named(recipe.header.line_kind).block_document)
        result: dict[str, Any] = await self.call("start_run", document=document, user=user, reason=reason,
                                                 audit=audit, released_for_line=released_for_line)
        return result


class RuntimeAnswer(Exception):
    """A refusal of the runtime, answered as it says (409 carries the state)."""

    def __init__(self, status_code: int, detail: str, state: str | None) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.state = state

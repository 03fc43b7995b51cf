"""A client's end of the channel (:mod:`controller.runtime.channel`): requests with a time
limit, and the latest status the runtime pushed.

ZeroMQ reconnects by itself when the runtime restarts; the client renews its subscription
every second, so pushes resume without anyone noticing. ``connected`` is True while a push
arrived within the last few seconds: when the runtime is gone the API says so (503 with the
reason) instead of showing a stale state.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from typing import Any

import zmq
import zmq.asyncio

from controller.runtime import channel

log = logging.getLogger(__name__)

REQUEST_TIMEOUT_S = 10.0
STALE_AFTER_S = 3.0
# the operations the runtime answers with its status (after acting, for commands)
STATUS_REPLIES = frozenset({"status", "subscribe", "start_run", "command", "acknowledge", "shelve", "set_loop",
                            "set_unit_mode"})


class RuntimeUnavailable(Exception):
    """The runtime did not answer (not started, restarting, or dead)."""


class RuntimeRefused(Exception):
    """The runtime answered with a refusal: ``status`` as HTTP would say it."""

    def __init__(self, status: int, detail: str, state: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.state = state


class RuntimeClient:
    def __init__(self, endpoint: str, key: str, *, timeout_s: float = REQUEST_TIMEOUT_S) -> None:
        self.endpoint = endpoint
        self._key = key
        self._timeout_s = timeout_s
        self._context = zmq.asyncio.Context()
        self._socket = self._context.socket(zmq.DEALER)
        self._socket.setsockopt(zmq.LINGER, 0)
        self._socket.setsockopt(zmq.MAXMSGSIZE, channel.MAX_MESSAGE_BYTES)
        # queue nothing for a runtime that is not connected: a command must never reach a
        # restarted runtime long after its client gave up on it
        self._socket.setsockopt(zmq.IMMEDIATE, 1)
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.status: dict[str, Any] | None = None
        self._status_at = 0.0
        self._send_lock = asyncio.Lock()

    async def connect(self) -> None:
        self._socket.connect(self.endpoint)
        self._tasks = [asyncio.create_task(self._receive(), name="runtime-client-receive"),
                       asyncio.create_task(self._subscribe(), name="runtime-client-subscribe")]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
        for future in self._waiting.values():
            future.cancel()
        self._socket.close(0)
        self._context.term()

    @property
    def connected(self) -> bool:
        return self.status is not None and time.monotonic() - self._status_at < STALE_AFTER_S

    async def wait_connected(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while not self.connected:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    async def request(self, op: str, timeout_s: float | None = None, **args: Any) -> Any:
        """The runtime's result; RuntimeRefused for a refusal, RuntimeUnavailable when it
        does not answer in time."""
        request_id = next(self._ids)
        timeout_s = timeout_s if timeout_s is not None else self._timeout_s
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = future
        message = {"id": request_id, "key": self._key, "op": op, "args": args,
                   "expires_at": time.time() + timeout_s}  # the runtime drops what arrives after this
        try:
            async with asyncio.timeout(timeout_s):
                async with self._send_lock:
                    await self._socket.send(channel.encode(message))
                reply = await future
        except TimeoutError:
            raise RuntimeUnavailable(f"the line runtime at {self.endpoint} did not answer {op!r} in time") from None
        finally:
            self._waiting.pop(request_id, None)
        if not reply.get("ok"):
            raise RuntimeRefused(int(reply.get("status", 500)), str(reply.get("detail", "")), reply.get("state"))
        if op in STATUS_REPLIES:
            self._note_status(reply["result"])
        return reply.get("result")

    def _note_status(self, status: dict[str, Any]) -> None:
        self.status = status
        self._status_at = time.monotonic()

    async def _receive(self) -> None:
        while True:
            try:
                message = channel.decode(await self._socket.recv())
            except ValueError:
                continue
            if message.get("push") == "status":
                self._note_status(message["status"])
                continue
            future = self._waiting.get(message.get("id"))  # type: ignore[arg-type]
            if future is not None and not future.done():
                future.set_result(message)

    async def _subscribe(self) -> None:
        while True:
            try:
                await self.request("subscribe", timeout_s=channel.SUBSCRIPTION_S)
            except (RuntimeUnavailable, RuntimeRefused) as exc:
                log.debug("subscription not renewed: %s", exc)
            await asyncio.sleep(1.0)

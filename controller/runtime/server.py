"""The runtime's end of the channel (:mod:`controller.runtime.channel`): a ZeroMQ ROUTER
that authenticates each request, hands it to the :class:`LineService` and answers; and the
status pushes to subscribed clients.

Each request is handled in its own task, so a command waiting for the next scan never
delays another client; every handler is quick (see :mod:`controller.runtime.service`).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import zmq
import zmq.asyncio

from controller.recipe.model import LoopAction, LoopMode
from controller.runtime import channel
from controller.runtime.service import LineService, ServiceError

log = logging.getLogger(__name__)

Handler = Callable[[LineService, dict[str, Any]], Awaitable[Any]]


async def _status(service: LineService, args: dict[str, Any]) -> Any:
    return service.status()


async def _tags(service: LineService, args: dict[str, Any]) -> Any:
    return service.tags()


async def _health(service: LineService, args: dict[str, Any]) -> Any:
    return service.health_snapshot()


async def _start_run(service: LineService, args: dict[str, Any]) -> Any:
    released_for_line = args.get("released_for_line")
    return await service.start_run(args["document"], _user(args), str(args.get("reason", "")),
                                   dict(args.get("audit", {})),
                                   released_for_line=None if released_for_line is None else str(released_for_line),
                                   adjustments=[dict(a) for a in args.get("adjustments", ())])


async def _command(service: LineService, args: dict[str, Any]) -> Any:
    return await service.command(str(args["command"]), _user(args), str(args.get("reason", "")))


async def _acknowledge(service: LineService, args: dict[str, Any]) -> Any:
    return await service.acknowledge(str(args["alarm_id"]), _user(args))


async def _shelve(service: LineService, args: dict[str, Any]) -> Any:
    return await service.shelve(str(args["alarm_id"]), _user(args), str(args["role"]), float(args["duration_s"]),
                                str(args["reason"]))


async def _set_loop(service: LineService, args: dict[str, Any]) -> Any:
    action = LoopAction(str(args["loop"]), LoopMode(args["mode"]),
                        None if args.get("setpoint") is None else float(args["setpoint"]),
                        None if args.get("output") is None else float(args["output"]))
    await service.set_loop(action, _user(args), str(args.get("reason") or ""))
    return service.status()


async def _set_unit_mode(service: LineService, args: dict[str, Any]) -> Any:
    return await service.set_unit_mode(str(args["mode"]), _user(args), str(args.get("reason") or ""))


async def _loops(service: LineService, args: dict[str, Any]) -> Any:
    return service.loops()


async def _faults(service: LineService, args: dict[str, Any]) -> Any:
    return service.faults()


async def _inject_fault(service: LineService, args: dict[str, Any]) -> Any:
    return service.inject_fault(str(args["kind"]), str(args["device"]), args.get("tag"), _user(args))


async def _clear_faults(service: LineService, args: dict[str, Any]) -> Any:
    return service.clear_faults(args.get("device"), args.get("tag"), _user(args))


def _user(args: dict[str, Any]) -> str:
    user = args.get("user")
    if not isinstance(user, str) or not user:
        raise ServiceError(422, "user: every command names its user")
    return user


HANDLERS: dict[str, Handler] = {
    "status": _status, "subscribe": _status, "tags": _tags, "health": _health, "start_run": _start_run,
    "command": _command, "acknowledge": _acknowledge, "shelve": _shelve, "set_loop": _set_loop, "loops": _loops,
    "set_unit_mode": _set_unit_mode,
    "faults": _faults, "inject_fault": _inject_fault, "clear_faults": _clear_faults,
}


class RuntimeServer:
    def __init__(self, service: LineService, *, endpoint: str, key: str) -> None:
        self.service = service
        self.endpoint = endpoint
        self._key = key.encode("ascii")
        self._context = zmq.asyncio.Context()
        self._socket = self._context.socket(zmq.ROUTER)
        self._socket.setsockopt(zmq.MAXMSGSIZE, channel.MAX_MESSAGE_BYTES)
        self._socket.setsockopt(zmq.LINGER, 0)
        self._subscribers: dict[bytes, float] = {}  # client identity -> subscription expiry (monotonic)
        self._tasks: set[asyncio.Task[None]] = set()
        self._serving: asyncio.Task[None] | None = None
        self._pushing: asyncio.Task[None] | None = None
        self._send_lock = asyncio.Lock()

    async def start(self) -> None:
        self._socket.bind(self.endpoint)
        self._serving = asyncio.create_task(self._serve(), name="runtime-channel")
        self._pushing = asyncio.create_task(self._push(), name="runtime-push")

    async def close(self) -> None:
        for task in (self._serving, self._pushing, *self._tasks):
            if task is not None:
                task.cancel()
        for task in (self._serving, self._pushing):
            if task is not None:
                try:
                    await task
                except asyncio.CancelledError:
                    pass
        self._socket.close(0)
        self._context.term()

    async def _serve(self) -> None:
        while True:
            frames = await self._socket.recv_multipart()
            if len(frames) < 2:
                continue
            task = asyncio.create_task(self._handle(frames[0], frames[-1]))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _handle(self, identity: bytes, payload: bytes) -> None:
        request_id: Any = None
        try:
            request = channel.decode(payload)
            request_id = request.get("id")
            key = request.get("key")
            if not isinstance(key, str) or not hmac.compare_digest(key.encode("ascii", "replace"), self._key):
                raise ServiceError(401, "not authorised: wrong or missing runtime key")
            expires_at = request.get("expires_at")
            if isinstance(expires_at, int | float) and time.time() > expires_at:
                return  # its client has given up: acting on it now would surprise everyone
            op = request.get("op")
            handler = HANDLERS.get(op) if isinstance(op, str) else None
            if handler is None:
                raise ServiceError(422, f"op: no operation {op!r}")
            args = request.get("args") or {}
            if not isinstance(args, dict):
                raise ServiceError(422, "args: an object")
            if op == "subscribe":
                self._subscribers[identity] = time.monotonic() + channel.SUBSCRIPTION_S
            result = await handler(self.service, args)
            reply: dict[str, Any] = {"id": request_id, "ok": True, "result": result}
        except ServiceError as exc:
            reply = {"id": request_id, "ok": False, "status": exc.status, "detail": exc.detail, "state": exc.state}
        except (ValueError, KeyError, TypeError) as exc:
            reply = {"id": request_id, "ok": False, "status": 422, "detail": f"bad request: {exc}"[:500]}
        except Exception as exc:
            log.exception("runtime request failed")
            reply = {"id": request_id, "ok": False, "status": 500, "detail": f"{type(exc).__name__}: {exc}"[:500]}
        await self._send(identity, reply)

    async def _send(self, identity: bytes, message: dict[str, Any]) -> None:
        async with self._send_lock:
            await self._socket.send_multipart([identity, channel.encode(message)])

    async def _push(self) -> None:
        while True:
            await asyncio.sleep(channel.PUSH_PERIOD_S)
            if not self._subscribers:
                continue
            now = time.monotonic()
            for identity in [i for i, expiry in self._subscribers.items() if expiry < now]:
                del self._subscribers[identity]
            try:
                message = {"push": "status", "status": self.service.status()}
            except ServiceError:
                continue
            for identity in list(self._subscribers):
                await self._send(identity, message)

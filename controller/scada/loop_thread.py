"""An asyncio event loop on a thread of its own, for a SCADA server in the runtime process.

The runtime scans on its own event loop. A protocol server (OPC UA, Modbus/TCP) runs its
loop here instead, so whatever it does synchronously -- asyncua verifies a password inside
``ActivateSession`` without yielding, encrypts and signs every message, decodes every
request -- never delays a scan. Blocking C code that releases the GIL (argon2-cffi's hash,
the socket calls) runs truly beside the scan; Python code shares the interpreter and is
interleaved with it at the interpreter's switch interval.

Crossing between the loops:

- :func:`call_in` runs a coroutine on another loop and awaits its result (a server's
  method callback hands a command to the runtime's loop; the runtime starts and stops the
  server on this one);
- ``loop.call_soon_threadsafe(function, ...)`` hands a value over without waiting (the
  runtime's per-scan publishing).

Nothing else is shared: the engine is read and changed on the runtime's loop only.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
JOIN_TIMEOUT_S = 10.0


async def call_in(loop: asyncio.AbstractEventLoop, coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` on ``loop`` (another thread's) and await its result here."""
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, loop))


class LoopThread:
    """A daemon thread running an event loop until :meth:`stop`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError(f"{self.name}: the loop thread is not started")
        return self._loop

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError(f"{self.name}: the loop thread is already started")
        loop = asyncio.new_event_loop()
        running = threading.Event()
        loop.call_soon(running.set)
        self._loop = loop
        self._thread = threading.Thread(target=self._run, args=(loop,), name=self.name, daemon=True)
        self._thread.start()
        running.wait()

    @staticmethod
    def _run(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    async def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on this thread's loop and await its result on the caller's."""
        return await call_in(self.loop, coroutine)

    async def stop(self) -> None:
        """Cancel what still runs on the loop, stop it and join the thread (from another loop)."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if loop.is_running():
            await call_in(loop, _cancel_others())
            loop.call_soon_threadsafe(loop.stop)
        await asyncio.to_thread(thread.join, JOIN_TIMEOUT_S)
        self._loop, self._thread = None, None


async def _cancel_others() -> None:
    current = asyncio.current_task()
    tasks = [t for t in asyncio.all_tasks() if t is not current]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)

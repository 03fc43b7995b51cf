"""The line runtime: one OS process per line owning the engine, the drivers and the historian
writer (``service``), its own scan health (``health``), and the authenticated command/state
channel its clients use (``channel``, ``server``, ``client``)."""

from controller.runtime.client import RuntimeClient, RuntimeRefused, RuntimeUnavailable
from controller.runtime.service import LineService, RuntimeConfig, ServiceError

__all__ = ["LineService", "RuntimeClient", "RuntimeConfig", "RuntimeRefused", "RuntimeUnavailable", "ServiceError"]

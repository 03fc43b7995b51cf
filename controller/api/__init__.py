"""The operator REST API (FastAPI): ``create_app(settings)`` builds it; ``poreline serve`` runs it."""

from controller.api.app import create_app
from controller.api.settings import Settings

__all__ = ["Settings", "create_app"]

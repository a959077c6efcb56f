"""The REST API (FastAPI): ``create_app(Settings(...))``."""

from clearline.api.app import Settings, create_app

__all__ = ["Settings", "create_app"]

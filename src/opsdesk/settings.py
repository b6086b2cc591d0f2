"""The one settings object: every knob comes from an ``OPSDESK_*`` environment variable.

The Temporal connection itself is not configured here: it uses Temporal's own
environment configuration (``TEMPORAL_ADDRESS``, ``TEMPORAL_NAMESPACE``,
``TEMPORAL_API_KEY``, TLS, ``TEMPORAL_PROFILE``), so the same knobs work as for the
Temporal CLI. See ``opsdesk.temporal.client``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

Port = Annotated[int, Field(ge=1, le=65535)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OPSDESK_", extra="ignore")

    data_dir: Path = Path(".opsdesk")
    """Where the embedded Temporal server and the default SQLite database keep their files."""

    database_url: str | None = None
    """SQLAlchemy async URL; defaults to a SQLite file in ``data_dir``.
    PostgreSQL: ``postgresql+asyncpg://user:pass@host/db``."""

    host: str = "127.0.0.1"
    port: Port = 8000
    """API and dashboard port."""

    temporal_port: Port = 7233
    """gRPC port of the embedded dev server (ignored when a Temporal address is configured)."""

    ui_port: Port = 8233
    """Web UI port of the embedded dev server."""

    temporal_ui_url: str | None = None
    """Base URL of the Temporal web UI, for links from the dashboard. Defaults to the
    embedded server's UI."""

    log_level: str = "info"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir.resolve() / 'opsdesk.db'}"

    @property
    def resolved_temporal_ui_url(self) -> str:
        return self.temporal_ui_url or f"http://{self.host}:{self.ui_port}"

    @property
    def dashboard_url(self) -> str:
        return f"http://{self.host}:{self.port}"

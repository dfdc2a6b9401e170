"""Settings of one service instance, built when the app is created (never read at import time)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from .catalog import PROJECT_ROOT

DEFAULT_DATABASE = "sqlite:///migstat.db"


@dataclass(frozen=True)
class Settings:
    #: SQLAlchemy URL: the embedded SQLite file in the working directory, or postgresql+psycopg://...
    database_url: str = DEFAULT_DATABASE
    #: Folder holding dsd/, codelists/ and mappings/.
    root: Path = PROJECT_ROOT
    #: Above this many observations a data query answers 413 / SDMX 510.
    max_response_observations: int = 5_000_000
    #: Largest request body accepted (submissions), bytes.
    max_request_bytes: int = 256 * 1024 * 1024
    #: Longest URL accepted (414 above).
    max_url_length: int = 8192
    #: Origins allowed by CORS ("*" for any).
    cors_origin: str = "*"
    #: Public base URL used in links (empty: taken from the request).
    base_url: str = ""
    #: Failed authentications from one address within ``auth_failure_window`` seconds before it
    #: is answered 429 for a growing delay (counted per process: each gunicorn worker keeps its own).
    auth_failure_limit: int = 5
    auth_failure_window: float = 60.0
    extra: Mapping[str, object] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> "Settings":
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        if env.get("MIGSTAT_DATABASE_URL"):
            values["database_url"] = env["MIGSTAT_DATABASE_URL"]
        if env.get("MIGSTAT_ROOT"):
            values["root"] = Path(env["MIGSTAT_ROOT"])
        if env.get("MIGSTAT_MAX_RESPONSE_OBSERVATIONS"):
            values["max_response_observations"] = int(env["MIGSTAT_MAX_RESPONSE_OBSERVATIONS"])
        if env.get("MIGSTAT_MAX_REQUEST_BYTES"):
            values["max_request_bytes"] = int(env["MIGSTAT_MAX_REQUEST_BYTES"])
        if env.get("MIGSTAT_AUTH_FAILURE_LIMIT"):
            values["auth_failure_limit"] = int(env["MIGSTAT_AUTH_FAILURE_LIMIT"])
        if env.get("MIGSTAT_CORS_ORIGIN"):
            values["cors_origin"] = env["MIGSTAT_CORS_ORIGIN"]
        if env.get("MIGSTAT_BASE_URL"):
            values["base_url"] = env["MIGSTAT_BASE_URL"].rstrip("/")
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]

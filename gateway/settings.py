"""Gateway configuration, read from ``VSEE_*`` environment variables and CLI flags."""

from __future__ import annotations

from typing import Literal

from pydantic import AnyHttpUrl, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_API_URL = "https://api.vseepreview.com/vc/next/api_v3"


class Settings(BaseSettings):
    """Every knob of the gateway; each maps to ``VSEE_<NAME>`` (e.g. ``VSEE_API_URL``)."""

    model_config = SettingsConfigDict(env_prefix="VSEE_", extra="ignore", frozen=True)

    api_url: AnyHttpUrl = Field(
        default=AnyHttpUrl(DEFAULT_API_URL),
        description="Base URL of VSee api_v3 (everything before /visits, /intakes, ...).",
    )
    gateway_host: str = "127.0.0.1"
    gateway_port: int = Field(default=8000, ge=0, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    # Upstream client: explicit budgets, because a hung VSee call must not hang a screen.
    upstream_transport: Literal["aiohttp", "httpx"] = "aiohttp"
    upstream_connect_timeout: float = Field(default=3.0, gt=0, le=60)
    upstream_read_timeout: float = Field(default=10.0, gt=0, le=300)
    upstream_max_connections: int = Field(default=100, ge=1, le=10_000)
    upstream_max_keepalive: int = Field(default=20, ge=0, le=10_000)

    # Caches.
    availability_ttl: float = Field(
        default=30.0, ge=0, le=3600, description="Seconds an availability answer is reused."
    )
    availability_cache_size: int = Field(default=10_000, ge=1)
    idempotency_ttl: float = Field(
        default=86_400, gt=0, description="Seconds a mutation's answer is kept per Idempotency-Key."
    )
    idempotency_cache_size: int = Field(default=10_000, ge=1)

    # GraphQL.
    graphiql: bool = True
    introspection: bool = True
    max_page_size: int = Field(default=100, ge=1, le=1000)

    @field_validator("api_url")
    @classmethod
    def _no_trailing_slash(cls, value: AnyHttpUrl) -> AnyHttpUrl:
        return AnyHttpUrl(str(value).rstrip("/"))

    @property
    def api_base(self) -> str:
        return str(self.api_url).rstrip("/")


class SettingsError(Exception):
    """A setting has a bad value; the message names it in one line."""


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment plus explicit overrides, or raise ``SettingsError``."""
    clean = {key: value for key, value in overrides.items() if value is not None}
    try:
        return Settings(**clean)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "_".join(str(part) for part in first["loc"]) or "?"
        source = f"VSEE_{name.upper()}"
        raise SettingsError(f"invalid setting {source}: {first['msg']}") from None

"""Gateway configuration, read from ``VSEE_*`` environment variables and CLI flags."""

from __future__ import annotations

from typing import Literal

from pydantic import AnyHttpUrl, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_API_URL = "https://api.vseepreview.com/vc/next/api_v3"


class Settings(BaseSettings):
    """Every knob of the gateway; each maps to ``VSEE_<NAME>`` (e.g. ``VSEE_API_URL``)."""

    # No inf or NaN anywhere: a TTL of inf overflowed only after VSee had applied a write.
    model_config = SettingsConfigDict(
        env_prefix="VSEE_", extra="ignore", frozen=True, allow_inf_nan=False
    )

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
    # Admission control: upstream calls beyond the pool wait in a bounded queue (the wait counts
    # against the request's deadline); GraphQL requests beyond the limit are shed at once.
    upstream_max_queue: int = Field(
        default=10_000, ge=0, le=1_000_000, description="Upstream calls that may wait for a slot."
    )
    max_concurrent_requests: int = Field(
        default=32,
        ge=1,
        le=10_000,
        description="GraphQL requests one process runs at once; more wait in a queue.",
    )
    max_queued_requests: int = Field(
        default=1000,
        ge=0,
        le=100_000,
        description="GraphQL requests that may wait to run; more get OVERLOADED (503) at once.",
    )

    # Caches: in-process by default; a redis:// URL shares them across replicas.
    cache_url: str | None = Field(
        default=None, description="redis://host:6379/0 to share caches between replicas."
    )
    availability_ttl: float = Field(
        default=30.0, ge=0, le=3600, description="Seconds an availability answer is reused."
    )
    availability_cache_size: int = Field(default=10_000, ge=1, le=10_000_000)
    idempotency_ttl: float = Field(
        default=86_400,
        gt=0,
        le=7 * 86_400,
        description="Seconds a mutation's outcome is kept per Idempotency-Key.",
    )
    idempotency_cache_size: int = Field(default=10_000, ge=1, le=10_000_000)

    # Resilience: reads are retried, writes never; the breaker fails fast while VSee is down.
    request_deadline: float = Field(
        default=20.0, gt=0, le=300, description="Seconds one GraphQL request may spend upstream."
    )
    upstream_retries: int = Field(default=2, ge=0, le=10, description="Extra tries for reads.")
    breaker_threshold: int = Field(default=5, ge=1, le=1000)
    breaker_cooldown: float = Field(default=10.0, gt=0, le=600)
    breaker_min_scopes: int = Field(
        default=2,
        ge=1,
        le=1000,
        description="Accounts whose calls VSee must fail (5xx) before the shared breaker opens.",
    )
    shutdown_grace: float = Field(
        default=2.0,
        ge=0,
        le=60,
        description="Seconds after SIGTERM still serving (with Connection: close) before closing.",
    )

    # GraphQL and its limits; defaults fit the mobile and dashboard screens in the docs.
    graphiql: bool = True
    introspection: bool = True
    max_page_size: int = Field(default=100, ge=1, le=1000)
    max_depth: int = Field(default=12, ge=1, le=100)
    max_aliases: int = Field(default=30, ge=0, le=1000)
    max_fields: int = Field(default=2000, ge=10, le=100_000)
    max_cost: int = Field(default=1000, ge=1, le=1_000_000)
    max_tokens: int = Field(default=5000, ge=10, le=1_000_000)
    max_body_bytes: int = Field(default=1_048_576, ge=1024, le=100 * 1_048_576)
    # All request bodies this process holds at once (being received, queued or running): no
    # number of connections, each sending up to max_body_bytes, can take more memory than this.
    max_pending_body_bytes: int = Field(
        default=64 * 1_048_576,
        ge=1024,
        le=4096 * 1_048_576,
        description="Bytes of request bodies one process holds at once; more get OVERLOADED.",
    )
    max_batch_size: int = Field(default=10, ge=1, le=100)
    compiled_execution: bool = Field(
        default=True,
        description="Run queries from compiled plans (gateway.execution); false: graphql-core's "
        "executor for every operation.",
    )
    header_timeout: float = Field(
        default=10.0, gt=0, le=300, description="Seconds a client may take to send its headers."
    )
    body_timeout: float = Field(
        default=10.0, gt=0, le=300, description="Seconds a client may take to send its body."
    )
    persisted_query_ttl: float = Field(
        default=7 * 86_400,
        gt=0,
        le=30 * 86_400,
        description="Seconds an automatic persisted query is kept.",
    )
    max_query_bytes: int = Field(
        default=32_768,
        ge=256,
        le=10 * 1_048_576,
        description="Largest query text accepted (and so parsed, cached or persisted), in bytes.",
    )
    persisted_query_max_bytes: int = Field(
        default=8 * 1_048_576,
        ge=1024,
        description="Byte budget of registered persisted queries (per process, and in Redis).",
    )
    trusted_documents: str | None = Field(
        default=None,
        description="Path of a trusted-documents manifest (Apollo or Relay persisted queries).",
    )
    trusted_documents_only: bool = Field(
        default=False, description="Run only the operations in VSEE_TRUSTED_DOCUMENTS."
    )
    # Per-caller rate limits, in VSee calls (a request counts its cost estimate, at least 1).
    rate_limit: bool = Field(default=True, description="Token buckets per caller and account.")
    rate_limit_per_second: float = Field(
        default=200.0, gt=0, description="VSee calls per second one credential scope may cause."
    )
    rate_limit_burst: float = Field(
        default=5000.0, ge=1, description="Calls one credential scope may cause in a burst."
    )
    rate_limit_account_per_second: float = Field(
        default=1000.0, gt=0, description="VSee calls per second one account may cause."
    )
    rate_limit_account_burst: float = Field(
        default=20000.0, ge=1, description="Calls one account may cause in a burst."
    )
    # HTTP streams of subscriptions (GraphQL over SSE, multipart). Their per-caller cap is
    # live_max_subscriptions_per_caller below, which the LiveHub applies to every transport.
    stream_heartbeat: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="Seconds of silence after which an HTTP subscription stream sends a "
        "keep-alive (an SSE comment, a multipart `{}` part).",
    )
    stream_buffer_bytes: int = Field(
        default=1_048_576,
        ge=1024,
        le=256 * 1_048_576,
        description="Bytes of events one HTTP subscription stream may hold for a client that "
        "does not read them; beyond that the stream ends with SLOW_CONSUMER.",
    )
    web_dir: str | None = Field(
        default=None,
        description="Development override: a web/ folder whose node_modules holds GraphiQL's "
        "files (by default the wheel's own copy, or web/ of a source checkout).",
    )
    graphiql_headers: dict[str, str] | None = Field(
        default=None,
        description="Headers GraphiQL's tabs start with (JSON object); placeholders when unset. "
        "serve --sandbox sets the sandbox's demo member here. Never real credentials: anyone "
        "who can open GraphiQL reads them.",
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description="Origins allowed to call from a browser (JSON list in VSEE_CORS_ORIGINS).",
    )

    # Subscriptions (see README, "Subscriptions"): shared pollers and the WebSocket transport.
    live_interval_active: float = Field(
        default=3.0,
        gt=0,
        le=3600,
        description="Seconds between polls of a visit waiting or in progress (or of a queue).",
    )
    live_interval_idle: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="Longest interval between polls of an idle resource (reached by doubling).",
    )
    live_jitter: float = Field(
        default=0.1, ge=0, le=0.5, description="Random variation of each poll interval (fraction)."
    )
    live_max_subscriptions_per_caller: int = Field(
        default=100,
        ge=1,
        le=100_000,
        description="Subscriptions one credential scope may hold open at once on one process.",
    )
    live_max_subscriptions: int = Field(
        default=10_000,
        ge=1,
        le=1_000_000,
        description="Subscriptions one process holds at once, all callers together (about 35 KiB "
        "each); more are refused OVERLOADED.",
    )
    ws_max_subscriptions_per_connection: int = Field(
        default=50, ge=1, le=10_000, description="Operations one WebSocket may run at once."
    )
    ws_max_connections: int = Field(
        default=10_000,
        ge=2,
        le=1_000_000,
        description="WebSockets one process holds open (half at most for credentials VSee has "
        "not accepted yet); more are closed 1013, which clients retry.",
    )
    ws_connection_init_timeout: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="Seconds a WebSocket client has to send connection_init (then closed 4408).",
    )
    ws_ping_interval: float = Field(
        default=20.0,
        gt=0,
        le=3600,
        description="Seconds between WebSocket pings; a peer that does not answer within as "
        "long again is disconnected.",
    )
    ws_idle_timeout: float = Field(
        default=300.0,
        gt=0,
        le=86_400,
        description="Seconds a WebSocket may stay open without any operation (then closed 1000).",
    )

    # Observability.
    log_format: Literal["json", "text"] = "json"
    metrics: bool = True
    metrics_port: int = Field(
        default=9464,
        ge=0,
        le=65535,
        description="Port of the separate /metrics listener (0: any free port).",
    )
    metrics_host: str | None = Field(
        default=None, description="Address of the /metrics listener (VSEE_GATEWAY_HOST if unset)."
    )
    otel: bool = Field(default=False, description="Export OpenTelemetry traces (OTLP).")

    @field_validator("cache_url")
    @classmethod
    def _redis_only(cls, value: str | None) -> str | None:
        # A typo here would silently stop replicas sharing caches: refuse it instead.
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis://, rediss:// or unix:// URL, or empty")
        return value or None

    @model_validator(mode="after")
    def _idle_not_below_active(self) -> Settings:
        if self.live_interval_idle < self.live_interval_active:
            raise ValueError("VSEE_LIVE_INTERVAL_IDLE must be at least VSEE_LIVE_INTERVAL_ACTIVE")
        return self

    @model_validator(mode="after")
    def _trusted_only_needs_a_manifest(self) -> Settings:
        if self.trusted_documents_only and not self.trusted_documents:
            raise ValueError("VSEE_TRUSTED_DOCUMENTS_ONLY needs VSEE_TRUSTED_DOCUMENTS (a path)")
        return self

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

"""Metrics, structured logs, request ids and optional tracing for the gateway."""

from ._logging import JsonFormatter, RequestIdFilter, configure_logging
from ._metrics import Metrics
from ._middleware import RequestContextMiddleware
from ._server import MetricsListener
from ._tracing import build_tracer

__all__ = [
    "JsonFormatter",
    "Metrics",
    "MetricsListener",
    "RequestContextMiddleware",
    "RequestIdFilter",
    "build_tracer",
    "configure_logging",
]

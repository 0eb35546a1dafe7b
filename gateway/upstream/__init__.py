"""The VSee api_v3 client: credentials, the shared HTTP client and its error hierarchy."""

from ._client import Envelope, FormFields, Limits, Timeouts, TransportName, UpstreamClient
from ._credentials import Credentials
from ._errors import (
    BadRequest,
    Conflict,
    Forbidden,
    GatewayError,
    InvalidInput,
    MissingCredentials,
    NotFound,
    Unauthenticated,
    UpstreamError,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnavailable,
)

__all__ = [
    "BadRequest",
    "Conflict",
    "Credentials",
    "Envelope",
    "Forbidden",
    "FormFields",
    "GatewayError",
    "InvalidInput",
    "Limits",
    "MissingCredentials",
    "NotFound",
    "Timeouts",
    "TransportName",
    "Unauthenticated",
    "UpstreamClient",
    "UpstreamError",
    "UpstreamRejected",
    "UpstreamTimeout",
    "UpstreamUnavailable",
]

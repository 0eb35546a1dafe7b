"""``python -m tests.http.stream_app PORT``: the gateway serving ``stream_schema`` as a process of
its own, in its main thread (so SIGTERM is handled as in production); settings from VSEE_*."""

from __future__ import annotations

import sys

import uvicorn

from gateway.app import create_app
from gateway.http import BoundedH11Protocol
from gateway.settings import load_settings
from tests.http.stream_schema import stream_schema
from tests.http.streams import NO_UPSTREAM


def main() -> None:
    settings = load_settings(api_url=NO_UPSTREAM)
    uvicorn.run(
        create_app(settings, schema=stream_schema()),
        host="127.0.0.1",
        port=int(sys.argv[1]),
        log_level="info",
        timeout_graceful_shutdown=20,
        http=BoundedH11Protocol,
    )


if __name__ == "__main__":
    main()

"""Optional OpenTelemetry tracing: a span per request and per upstream call, none per field."""

from __future__ import annotations

from typing import Any


def build_tracer(exporter: Any = None) -> Any:
    """A tracer exporting over OTLP/HTTP (configured by the standard OTEL_* variables).

    ``exporter`` replaces OTLP (tests pass an in-memory one). Per-field spans are deliberately
    absent: hooking every resolver multiplies execution time (performance-notes.md).
    """
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    except ImportError as exc:  # pragma: no cover - depends on the optional extra
        raise RuntimeError(
            "VSEE_OTEL=true needs the tracing extra: pip install 'vsee-gateway[otel]'"
        ) from exc
    provider = TracerProvider(resource=Resource.create({"service.name": "vsee-gateway"}))
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    else:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider.get_tracer("gateway")

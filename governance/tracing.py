"""OpenTelemetry traces: flow run -> task run (Prefect's own spans) -> action -> policy
decision, approval wait and robot step (the Gate's spans), with the trace id in every ledger
entry the Gate writes, so a trace and the ledger point at each other.

`PROCTOR_TRACING_EXPORTER`: `none` (default; spans cost next to nothing), `console`, or `otlp`
(needs `opentelemetry-exporter-otlp-proto-http`; the standard `OTEL_EXPORTER_OTLP_*` variables
say where). Configured once per process by the composition root.
"""

from __future__ import annotations

import threading

from opentelemetry import trace

tracer = trace.get_tracer("proctor")
_configured = threading.Lock()
_done = False


def configure_tracing(exporter: str) -> None:
    """Install a tracer provider that exports spans (once per process; later calls do nothing)."""
    global _done
    if exporter == "none":
        return
    with _configured:
        if _done:
            return
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

        if exporter == "console":
            span_exporter = ConsoleSpanExporter()
        elif exporter == "otlp":
            try:
                from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
                    OTLPSpanExporter,
                )
            except ImportError:
                raise ValueError("PROCTOR_TRACING_EXPORTER=otlp needs the package "
                                 "opentelemetry-exporter-otlp-proto-http") from None
            span_exporter = OTLPSpanExporter()
        else:
            raise ValueError(f"PROCTOR_TRACING_EXPORTER={exporter!r}: use none, console or otlp")
        provider = TracerProvider(resource=Resource.create({"service.name": "proctor"}))
        provider.add_span_processor(BatchSpanProcessor(span_exporter))
        trace.set_tracer_provider(provider)
        _done = True


def current_trace_id() -> str | None:
    """The trace id of the span in progress (32 hex digits), or None outside a recorded trace."""
    context = trace.get_current_span().get_span_context()
    return trace.format_trace_id(context.trace_id) if context.is_valid else None

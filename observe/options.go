package observe

import (
	"log/slog"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Options says where a wrapped backend's observations go. The zero value
// writes no audit log and reports metrics and spans to OpenTelemetry's
// global MeterProvider and TracerProvider (which do nothing until the
// application installs providers with exporters).
type Options struct {
	// AuditLog receives one record per key use (see the package doc for
	// its fields). Nil: no audit log.
	AuditLog *slog.Logger
	// MeterProvider makes the counter, histogram and gauges; nil means
	// otel.GetMeterProvider().
	MeterProvider metric.MeterProvider
	// TracerProvider makes a span per operation; nil means
	// otel.GetTracerProvider().
	TracerProvider trace.TracerProvider
	// Backend names the backend in records, metrics and spans: a backend
	// URI (it is passed through backend.Redact, so a PIN in it never shows)
	// or a scheme. Empty: the scheme the backend's Capabilities report.
	Backend string
}

package observe

import (
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// instrumentationName is the OpenTelemetry scope of everything this package
// reports.
const instrumentationName = "github.com/keyplane/keyplane/observe"

// Metric names.
const (
	MetricOperations      = "keyplane.operations"         // counter, {operation}
	MetricDuration        = "keyplane.operation.duration" // histogram, s
	MetricSessionsOpen    = "keyplane.sessions.open"      // gauge, {session}
	MetricSessionsIdle    = "keyplane.sessions.idle"      // gauge, {session}
	MetricSessionsWaiting = "keyplane.sessions.waiting"   // gauge, {caller}
	MetricPluginRestarts  = "keyplane.plugin.restarts"    // counter, {restart}
)

// Attribute keys, on metrics, spans and (without the prefix) audit records.
const (
	AttrBackend   = "keyplane.backend"
	AttrOperation = "keyplane.operation"
	AttrMethod    = "keyplane.method"
	AttrOutcome   = "keyplane.outcome"
	AttrKeyLabel  = "keyplane.key.label" // spans only: too many values for metrics
	AttrKeyID     = "keyplane.key.id"    // spans only, hex
)

// durationBuckets are the histogram's bucket boundaries in seconds: from
// 50 µs (a software signature) to 10 s (an RSA-4096 key generation on a
// smart card).
var durationBuckets = []float64{
	0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
}

// instruments are the meters and the tracer one wrapped backend reports to.
type instruments struct {
	tracer   trace.Tracer
	meter    metric.Meter
	ops      metric.Int64Counter
	duration metric.Float64Histogram
}

func newInstruments(opts Options) *instruments {
	mp, tp := opts.MeterProvider, opts.TracerProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	in := &instruments{tracer: tp.Tracer(instrumentationName), meter: mp.Meter(instrumentationName)}
	// An instrument with an error is still usable (a no-op where the SDK
	// could not make it): report the error and go on.
	var err error
	in.ops, err = in.meter.Int64Counter(MetricOperations,
		metric.WithDescription("Backend operations, by backend, operation, method and outcome."),
		metric.WithUnit("{operation}"))
	if err != nil {
		otel.Handle(err)
	}
	in.duration, err = in.meter.Float64Histogram(MetricDuration,
		metric.WithDescription("Time backend operations take, by backend, operation, method and outcome."),
		metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	if err != nil {
		otel.Handle(err)
	}
	return in
}

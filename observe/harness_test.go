package observe_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/keyplane/keyplane/observe"
)

// harness holds the in-memory ends of one test's observations: the JSON
// audit log, a manual metric reader and a span recorder.
type harness struct {
	mu     sync.Mutex
	log    bytes.Buffer
	reader *sdkmetric.ManualReader
	spans  *tracetest.SpanRecorder
	opts   observe.Options
}

// lockedWriter serializes the audit handler's writes (the conformance
// suite uses keys from several goroutines).
type lockedWriter struct{ h *harness }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.h.mu.Lock()
	defer w.h.mu.Unlock()
	return w.h.log.Write(p)
}

func newHarness(t *testing.T, backendName string) *harness {
	h := &harness{reader: sdkmetric.NewManualReader(), spans: tracetest.NewSpanRecorder()}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(h.reader))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(h.spans))
	t.Cleanup(func() {
		_ = mp.Shutdown(context.Background())
		_ = tp.Shutdown(context.Background())
	})
	h.opts = observe.Options{
		AuditLog:       slog.New(slog.NewJSONHandler(lockedWriter{h}, nil)),
		MeterProvider:  mp,
		TracerProvider: tp,
		Backend:        backendName,
	}
	return h
}

// records returns the audit records, decoded.
func (h *harness) records(t *testing.T) []map[string]any {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(h.log.Bytes()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r map[string]any
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("audit record %q: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	return out
}

func (h *harness) logText() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.log.String()
}

// collect reads the metrics now.
func (h *harness) collect(t *testing.T) metricdata.ResourceMetrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := h.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	return rm
}

// metric returns the named metric's data, or nil.
func findMetric(rm metricdata.ResourceMetrics, name string) *metricdata.Metrics {
	for _, sm := range rm.ScopeMetrics {
		for i := range sm.Metrics {
			if sm.Metrics[i].Name == name {
				return &sm.Metrics[i]
			}
		}
	}
	return nil
}

// opKey is one combination of the counter's attributes.
type opKey struct{ backend, operation, method, outcome string }

func keyOfSet(s attribute.Set) opKey {
	get := func(k string) string { v, _ := s.Value(attribute.Key(k)); return v.AsString() }
	return opKey{get(observe.AttrBackend), get(observe.AttrOperation), get(observe.AttrMethod), get(observe.AttrOutcome)}
}

// counts returns the operation counter by attributes.
func counts(t *testing.T, rm metricdata.ResourceMetrics) map[opKey]int64 {
	t.Helper()
	m := findMetric(rm, observe.MetricOperations)
	if m == nil {
		t.Fatalf("no %s metric", observe.MetricOperations)
	}
	sum, ok := m.Data.(metricdata.Sum[int64])
	if !ok {
		t.Fatalf("%s is %T, want a Sum[int64]", m.Name, m.Data)
	}
	out := map[opKey]int64{}
	for _, dp := range sum.DataPoints {
		out[keyOfSet(dp.Attributes)] += dp.Value
	}
	return out
}

// histCounts returns the duration histogram's sample counts by attributes.
func histCounts(t *testing.T, rm metricdata.ResourceMetrics) map[opKey]uint64 {
	t.Helper()
	m := findMetric(rm, observe.MetricDuration)
	if m == nil {
		t.Fatalf("no %s metric", observe.MetricDuration)
	}
	hist, ok := m.Data.(metricdata.Histogram[float64])
	if !ok {
		t.Fatalf("%s is %T, want a Histogram[float64]", m.Name, m.Data)
	}
	out := map[opKey]uint64{}
	for _, dp := range hist.DataPoints {
		out[keyOfSet(dp.Attributes)] += dp.Count
	}
	return out
}

// gauge returns the last value of an Int64 gauge or sum, and whether there
// is one.
func gauge(rm metricdata.ResourceMetrics, name string) (int64, bool) {
	m := findMetric(rm, name)
	if m == nil {
		return 0, false
	}
	switch d := m.Data.(type) {
	case metricdata.Gauge[int64]:
		if len(d.DataPoints) > 0 {
			return d.DataPoints[0].Value, true
		}
	case metricdata.Sum[int64]:
		if len(d.DataPoints) > 0 {
			return d.DataPoints[0].Value, true
		}
	}
	return 0, false
}

package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/keyplane/keyplane/observe"
)

// benchOTel is what bench --otel collects: an OpenTelemetry MeterProvider
// with an in-memory reader, given to package observe's wrapper, read at the
// end of the run. No exporter: the numbers are printed, not sent.
type benchOTel struct {
	reader   *sdkmetric.ManualReader
	provider *sdkmetric.MeterProvider
}

func newBenchOTel() *benchOTel {
	r := sdkmetric.NewManualReader()
	return &benchOTel{reader: r, provider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))}
}

// otelReport is the --otel part of the bench report.
type otelReport struct {
	Operations []otelRow          `json:"operations"`
	Gauges     map[string]float64 `json:"gauges,omitempty"`
}

// otelRow is one combination of the operation counter's attributes, with
// the duration histogram's samples for it. Quantiles are the upper bounds
// of the buckets they fall in (the histogram keeps no finer detail).
type otelRow struct {
	Operation string       `json:"operation"`
	Method    string       `json:"method"`
	Outcome   string       `json:"outcome"`
	Count     int64        `json:"count"`
	MeanMs    float64      `json:"mean_ms"`
	P50Ms     float64      `json:"p50_le_ms"`
	P99Ms     float64      `json:"p99_le_ms"`
	Buckets   []otelBucket `json:"buckets"`
}

// otelBucket is one non-empty histogram bucket: the samples no longer than
// LeMs (and longer than the previous bound).
type otelBucket struct {
	LeMs  float64 `json:"le_ms"` // +Inf for the last bucket is written as -1
	Count uint64  `json:"count"`
}

// gauges reads the gauges now (the session pool's exist only while the
// backend is open).
func (o *benchOTel) gauges(ctx context.Context) (map[string]float64, error) {
	var rm metricdata.ResourceMetrics
	if err := o.reader.Collect(ctx, &rm); err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Gauge[int64]:
				for _, dp := range d.DataPoints {
					out[m.Name] += float64(dp.Value)
				}
			case metricdata.Sum[int64]:
				if m.Name != observe.MetricOperations {
					for _, dp := range d.DataPoints {
						out[m.Name] += float64(dp.Value)
					}
				}
			}
		}
	}
	return out, nil
}

// report reads the operation counter and the duration histogram.
func (o *benchOTel) report(ctx context.Context, gauges map[string]float64) (*otelReport, error) {
	var rm metricdata.ResourceMetrics
	if err := o.reader.Collect(ctx, &rm); err != nil {
		return nil, err
	}
	rep := &otelReport{Gauges: gauges}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			h, ok := m.Data.(metricdata.Histogram[float64])
			if m.Name != observe.MetricDuration || !ok {
				continue
			}
			for _, dp := range h.DataPoints {
				rep.Operations = append(rep.Operations, histRow(dp))
			}
		}
	}
	slices.SortFunc(rep.Operations, func(a, b otelRow) int {
		return strings.Compare(a.Operation+" "+a.Method+" "+a.Outcome, b.Operation+" "+b.Method+" "+b.Outcome)
	})
	return rep, nil
}

func histRow(dp metricdata.HistogramDataPoint[float64]) otelRow {
	get := func(k string) string { v, _ := dp.Attributes.Value(attribute.Key(k)); return v.AsString() }
	r := otelRow{Operation: get(observe.AttrOperation), Method: get(observe.AttrMethod), Outcome: get(observe.AttrOutcome), Count: int64(dp.Count)}
	if dp.Count > 0 {
		r.MeanMs = dp.Sum / float64(dp.Count) * 1000
	}
	r.P50Ms = quantileBound(dp, 0.50)
	r.P99Ms = quantileBound(dp, 0.99)
	for i, n := range dp.BucketCounts {
		if n == 0 {
			continue
		}
		le := -1.0
		if i < len(dp.Bounds) {
			le = dp.Bounds[i] * 1000
		}
		r.Buckets = append(r.Buckets, otelBucket{LeMs: le, Count: n})
	}
	return r
}

// quantileBound returns the upper bound, in ms, of the bucket holding the
// q-quantile sample; the largest sample for the last (unbounded) bucket.
func quantileBound(dp metricdata.HistogramDataPoint[float64], q float64) float64 {
	if dp.Count == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(dp.Count)))
	var seen uint64
	for i, n := range dp.BucketCounts {
		seen += n
		if seen >= rank {
			if i < len(dp.Bounds) {
				return dp.Bounds[i] * 1000
			}
			break
		}
	}
	if v, ok := dp.Max.Value(); ok {
		return v * 1000
	}
	return math.Inf(1)
}

// writeOTelTable prints the --otel report after the bench table.
func writeOTelTable(w io.Writer, rep *otelReport) error {
	fmt.Fprintf(w, "\nOpenTelemetry metrics (%s, %s; quantiles are histogram bucket bounds):\n", observe.MetricOperations, observe.MetricDuration)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "OPERATION\tMETHOD\tOUTCOME\tCOUNT\tMEAN (ms)\tP50 <= (ms)\tP99 <= (ms)\tBUCKETS (<= ms: count)\n")
	for _, r := range rep.Operations {
		var bs []string
		for _, b := range r.Buckets {
			if b.LeMs < 0 {
				bs = append(bs, fmt.Sprintf("+Inf:%d", b.Count))
			} else {
				bs = append(bs, fmt.Sprintf("%g:%d", b.LeMs, b.Count))
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%.3f\t%g\t%g\t%s\n", r.Operation, r.Method, r.Outcome, r.Count, r.MeanMs, r.P50Ms, r.P99Ms, strings.Join(bs, " "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range rep.Gauges {
			if !yield(n) {
				return
			}
		}
	})
	for _, n := range names {
		fmt.Fprintf(w, "%s: %g\n", n, rep.Gauges[n])
	}
	return nil
}

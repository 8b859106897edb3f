package observe

import (
	"context"
	"encoding/hex"
	"log/slog"
	"strings"
	"time"

	"github.com/keyplane/keyplane/backend"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// AuditMessage is the message of every audit record.
const AuditMessage = "keyplane key use"

// keyInfo is what the records say about a key: its label and ID when
// known, else the reference the caller gave (redacted when it is a URI).
type keyInfo struct {
	label string
	id    string // hex
	ref   string // set when neither label nor id is known
}

// keyOf describes the key k.
func keyOf(k *backend.Key) keyInfo {
	if k == nil {
		return keyInfo{}
	}
	return keyInfo{label: k.Label, id: hex.EncodeToString(k.ID)}
}

// refKey describes the key a reference names, before the backend has
// answered: a label, an "id:" reference, or a key URI (redacted: a URI may
// carry a PIN).
func refKey(ref string) keyInfo {
	if r, err := backend.ParseKeyRef(ref); err == nil && !strings.Contains(ref, ":") {
		return keyInfo{label: r.Label}
	} else if err == nil && r.ID != nil {
		return keyInfo{id: hex.EncodeToString(r.ID)}
	}
	return keyInfo{ref: backend.Redact(ref)}
}

// op is one operation being observed.
type op struct {
	o         *observed
	operation string
	method    string
	key       keyInfo
	start     time.Time
	span      trace.Span
}

// begin starts observing an operation; end finishes it. The context
// returned carries the span, for the inner backend's call.
func (o *observed) begin(ctx context.Context, method, operation string, key keyInfo) (context.Context, *op) {
	ctx, span := o.in.tracer.Start(ctx, "keyplane "+operation,
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			attribute.String(AttrBackend, o.name),
			attribute.String(AttrOperation, operation),
			attribute.String(AttrMethod, method),
		))
	return ctx, &op{o: o, operation: operation, method: method, key: key, start: time.Now(), span: span}
}

// end records the operation's outcome: a counter increment and a histogram
// sample, the span's attributes and status, and one audit record. Only
// names, the outcome and the duration are recorded — never the data, the
// result or the error's text.
func (p *op) end(err error) {
	d := time.Since(p.start)
	outcome := Outcome(err)
	o := p.o
	attrs := attribute.NewSet(
		attribute.String(AttrBackend, o.name),
		attribute.String(AttrOperation, p.operation),
		attribute.String(AttrMethod, p.method),
		attribute.String(AttrOutcome, outcome),
	)
	ctx := context.Background()
	o.in.ops.Add(ctx, 1, metric.WithAttributeSet(attrs))
	o.in.duration.Record(ctx, d.Seconds(), metric.WithAttributeSet(attrs))

	p.span.SetAttributes(attribute.String(AttrOutcome, outcome))
	if p.key.label != "" {
		p.span.SetAttributes(attribute.String(AttrKeyLabel, p.key.label))
	}
	if p.key.id != "" {
		p.span.SetAttributes(attribute.String(AttrKeyID, p.key.id))
	}
	if err != nil {
		p.span.SetStatus(codes.Error, outcome)
	}
	p.span.End()

	if o.audit == nil {
		return
	}
	rec := []slog.Attr{
		slog.String("backend", o.name),
		slog.String("operation", p.operation),
		slog.String("method", p.method),
		slog.String("outcome", outcome),
	}
	if p.key.label != "" {
		rec = append(rec, slog.String("key_label", p.key.label))
	}
	if p.key.id != "" {
		rec = append(rec, slog.String("key_id", p.key.id))
	}
	if p.key.ref != "" {
		rec = append(rec, slog.String("key_ref", p.key.ref))
	}
	rec = append(rec, slog.Duration("duration", d))
	o.audit.LogAttrs(ctx, slog.LevelInfo, AuditMessage, rec...)
}

package observe

import (
	"context"

	"github.com/keyplane/keyplane/backend"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// registerGauges registers the session-pool gauges when the inner backend
// reports a pool, and the plugin-restart counter when it is a plugin. They
// are read at collection time, each read an atomic or mutex-guarded copy
// in the backend, never a token call.
func (o *observed) registerGauges() error {
	pool, hasPool := o.inner.(backend.SessionPoolReporter)
	starts, isPlugin := o.inner.(childStarter)
	if !hasPool && !isPlugin {
		return nil
	}
	m := o.in.meter
	attrs := metric.WithAttributeSet(attribute.NewSet(attribute.String(AttrBackend, o.name)))
	var insts []metric.Observable
	var open, idle, waiting metric.Int64ObservableGauge
	var restarts metric.Int64ObservableCounter
	var err error
	if hasPool {
		if open, err = m.Int64ObservableGauge(MetricSessionsOpen, metric.WithUnit("{session}"),
			metric.WithDescription("Token sessions open, idle and in use.")); err != nil {
			return err
		}
		if idle, err = m.Int64ObservableGauge(MetricSessionsIdle, metric.WithUnit("{session}"),
			metric.WithDescription("Open token sessions not in use.")); err != nil {
			return err
		}
		if waiting, err = m.Int64ObservableGauge(MetricSessionsWaiting, metric.WithUnit("{caller}"),
			metric.WithDescription("Callers waiting for a token session because all are in use.")); err != nil {
			return err
		}
		insts = append(insts, open, idle, waiting)
	}
	if isPlugin {
		if restarts, err = m.Int64ObservableCounter(MetricPluginRestarts, metric.WithUnit("{restart}"),
			metric.WithDescription("Plugin processes started to replace one that crashed, hung or failed its health check.")); err != nil {
			return err
		}
		insts = append(insts, restarts)
	}
	o.gauges, err = m.RegisterCallback(func(_ context.Context, obs metric.Observer) error {
		if hasPool {
			s := pool.SessionPoolStats()
			obs.ObserveInt64(open, int64(s.Open), attrs)
			obs.ObserveInt64(idle, int64(s.Idle), attrs)
			obs.ObserveInt64(waiting, int64(s.Waiting), attrs)
		}
		if isPlugin {
			n := starts.ChildStarts()
			if n > 0 {
				n-- // the first start is not a restart
			}
			obs.ObserveInt64(restarts, int64(n), attrs)
		}
		return nil
	}, insts...)
	return err
}

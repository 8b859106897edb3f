package conformance

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyplane/keyplane/backend"
)

// tb is what a check needs from its runner: *testing.T under go test, a
// recorder under Check. Fatalf and Skipf end the check's goroutine.
type tb interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Skipf(format string, args ...any)
	Logf(format string, args ...any)
	Context() context.Context
}

// runner runs the suite's checks one by one, the same way under go test and
// under Check.
type runner interface {
	// open opens the backend under test. It is called from the suite's own
	// goroutine, never from inside a check.
	open() (backend.Backend, error)
	// run runs one check to its end and reports whether it passed (a skip
	// is not a pass).
	run(name string, fn func(t tb)) Status
	// context is the context for work between checks (cleanup).
	context() context.Context
}

// Check runs the suite outside go test and returns its report. open is
// called once, or twice with Config.Reopen. Check deletes every key it
// created (the keys whose labels carry the label prefix) before it returns,
// and never touches any other key. It returns an error only when the suite
// could not start (open failed); a failed check is in the report.
func Check(ctx context.Context, open func(ctx context.Context) (backend.Backend, error), cfg Config) (*Report, error) {
	cfg = cfg.withDefaults()
	r := &recorder{ctx: ctx, openFn: open, progress: newProgress(cfg)}
	s := newSuite(cfg)
	if err := s.runAll(r); err != nil {
		return nil, err
	}
	return &Report{Capabilities: s.caps, Results: r.results}, nil
}

// Run runs the suite as subtests of t: one t.Run per check, failures as
// t.Errorf, skips as t.Skip with the reason. open is called once, or twice
// with Config.Reopen (it must then return a backend over the same keys),
// always from t's own goroutine, so it may call t.Fatal, t.TempDir and
// t.Cleanup. Run deletes the keys it created before it returns.
func Run(t *testing.T, open func(t *testing.T) backend.Backend, cfg Config) {
	t.Helper()
	cfg = cfg.withDefaults()
	r := &testRunner{t: t, openFn: open, progress: newProgress(cfg)}
	s := newSuite(cfg)
	// A backend left open by a t.Fatal in open or a panic: delete our keys
	// and close it anyway.
	t.Cleanup(func() { s.cleanupAfterAbort() })
	if err := s.runAll(r); err != nil {
		t.Fatal(err)
	}
}

// testRunner runs checks as subtests.
type testRunner struct {
	t        *testing.T
	openFn   func(t *testing.T) backend.Backend
	progress *progress
}

func (r *testRunner) open() (backend.Backend, error) {
	b := r.openFn(r.t)
	if b == nil {
		return nil, fmt.Errorf("conformance: open returned a nil backend")
	}
	return b, nil
}

func (r *testRunner) context() context.Context { return context.WithoutCancel(r.t.Context()) }

func (r *testRunner) run(name string, fn func(t tb)) Status {
	var status Status
	r.t.Run(name, func(t *testing.T) {
		start := time.Now()
		defer func() {
			if p := recover(); p != nil {
				t.Errorf("panic: %v\n%s", p, debug.Stack())
			}
			status = Pass
			switch {
			case t.Failed():
				status = Fail
			case t.Skipped():
				status = Skip
			}
			r.progress.line(Result{Name: name, Status: status, Duration: time.Since(start)})
		}()
		fn(t)
	})
	return status
}

// recorder runs each check in its own goroutine and records its outcome;
// Fatalf and Skipf end that goroutine with runtime.Goexit, as testing does.
type recorder struct {
	ctx      context.Context
	openFn   func(ctx context.Context) (backend.Backend, error)
	progress *progress
	results  []Result
}

func (r *recorder) open() (backend.Backend, error) {
	b, err := r.openFn(r.ctx)
	if err == nil && b == nil {
		err = fmt.Errorf("conformance: open returned a nil backend")
	}
	return b, err
}

func (r *recorder) context() context.Context { return context.WithoutCancel(r.ctx) }

func (r *recorder) run(name string, fn func(t tb)) Status {
	rt := &recT{ctx: r.ctx}
	start := time.Now()
	if err := r.ctx.Err(); err != nil {
		rt.skipped = true
		rt.msgs = append(rt.msgs, "not run: "+err.Error())
	} else {
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer func() {
				if p := recover(); p != nil {
					rt.Errorf("panic: %v\n%s", p, debug.Stack())
				}
			}()
			fn(rt)
		}()
		<-done
	}
	res := rt.result(name, time.Since(start))
	r.results = append(r.results, res)
	r.progress.line(res)
	return res.Status
}

// recT is the tb of a check run by the recorder.
type recT struct {
	ctx     context.Context
	mu      sync.Mutex
	failed  bool
	skipped bool
	msgs    []string
}

func (t *recT) Helper()                  {}
func (t *recT) Context() context.Context { return t.ctx }

func (t *recT) Errorf(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.failed = true
	t.msgs = append(t.msgs, fmt.Sprintf(format, args...))
}

func (t *recT) Fatalf(format string, args ...any) {
	t.Errorf(format, args...)
	runtime.Goexit()
}

func (t *recT) Skipf(format string, args ...any) {
	t.mu.Lock()
	t.skipped = true
	t.msgs = append(t.msgs, fmt.Sprintf(format, args...))
	t.mu.Unlock()
	runtime.Goexit()
}

// Logf keeps log lines only to explain a failure or a skip.
func (t *recT) Logf(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.msgs = append(t.msgs, "log: "+fmt.Sprintf(format, args...))
}

func (t *recT) result(name string, d time.Duration) Result {
	t.mu.Lock()
	defer t.mu.Unlock()
	res := Result{Name: name, Status: Pass, Duration: d}
	switch {
	case t.failed:
		res.Status = Fail
	case t.skipped:
		res.Status = Skip
	}
	if res.Status != Pass {
		// Errors and the skip reason first, log lines after them.
		var main, logs []string
		for _, m := range t.msgs {
			if strings.HasPrefix(m, "log: ") {
				logs = append(logs, m)
			} else {
				main = append(main, m)
			}
		}
		res.Message = strings.Join(append(main, logs...), "\n")
	}
	return res
}

// progress writes one line per finished check to Config.Progress.
type progress struct {
	mu sync.Mutex
	w  interface{ Write([]byte) (int, error) }
}

func newProgress(cfg Config) *progress {
	if cfg.Progress == nil {
		return nil
	}
	return &progress{w: cfg.Progress}
}

func (p *progress) line(res Result) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	word := statusWord(res.Status)
	line := fmt.Sprintf("%-4s %s (%s)", word, res.Name, roundDuration(res.Duration))
	if res.Message != "" {
		msg, _, _ := strings.Cut(res.Message, "\n")
		line += ": " + msg
	}
	fmt.Fprintln(p.w, line)
}

package conformance

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/keyplane/keyplane/backend"
)

// Status is the outcome of one check.
type Status string

// Check outcomes.
const (
	Pass Status = "pass"
	Fail Status = "fail"
	Skip Status = "skip"
)

// Result is the outcome of one check.
type Result struct {
	// Name is the check's path, e.g. "sign/ec-p256/ecdsa-sha256".
	Name   string `json:"name"`
	Status Status `json:"status"`
	// Message says why a check failed or was skipped; empty on a pass.
	Message  string        `json:"message,omitempty"`
	Duration time.Duration `json:"duration"`
}

// Report is the outcome of a run: what the backend said it can do, and
// what each check found.
type Report struct {
	// Capabilities is the backend's own report, nil when it could not give
	// one.
	Capabilities *backend.Capabilities `json:"capabilities"`
	Results      []Result              `json:"results"`
}

// Failed reports whether any check failed.
func (r *Report) Failed() bool {
	_, fail, _ := r.Counts()
	return fail > 0
}

// Counts returns how many checks passed, failed and were skipped.
func (r *Report) Counts() (pass, fail, skip int) {
	for _, res := range r.Results {
		switch res.Status {
		case Pass:
			pass++
		case Fail:
			fail++
		case Skip:
			skip++
		}
	}
	return pass, fail, skip
}

// WriteTable writes the report for people: the capability report (backend,
// description, algorithms, operations, import/export/persistence,
// implicit rejection when reported, notes,
// details), then the results grouped by their first name element, then the
// totals.
func (r *Report) WriteTable(w io.Writer) error {
	ew := &errWriter{w: w}
	ew.printf("Capabilities\n")
	tw := tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
	if c := r.Capabilities; c == nil {
		fmt.Fprintf(tw, "  backend\t(no capability report)\n")
	} else {
		fmt.Fprintf(tw, "  backend\t%s\n", c.Backend)
		if c.Description != "" {
			fmt.Fprintf(tw, "  description\t%s\n", c.Description)
		}
		fmt.Fprintf(tw, "  algorithms\t%s\n", joinOrNone(c.Algorithms))
		fmt.Fprintf(tw, "  operations\t%s\n", joinOrNone(c.Operations))
		fmt.Fprintf(tw, "  import\t%s\n", yesNo(c.Import))
		fmt.Fprintf(tw, "  export\t%s\n", yesNo(c.Export))
		fmt.Fprintf(tw, "  persistent\t%s\n", yesNo(c.Persistent))
		fmt.Fprintf(tw, "  certificates\t%s\n", yesNo(c.Certificates))
		if c.PKCS1v15ImplicitRejection {
			fmt.Fprintf(tw, "  pkcs1v15 bad padding\tsynthetic plaintext (implicit rejection)\n")
		}
		for i, n := range c.Notes {
			name := ""
			if i == 0 {
				name = "notes"
			}
			fmt.Fprintf(tw, "  %s\t%s\n", name, n)
		}
		keys := make([]string, 0, len(c.Details))
		for k := range c.Details {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			name := ""
			if i == 0 {
				name = "details"
			}
			fmt.Fprintf(tw, "  %s\t%s: %s\n", name, k, c.Details[k])
		}
	}
	tw.Flush()

	group := ""
	tw = tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
	for _, res := range r.Results {
		g, _, _ := strings.Cut(res.Name, "/")
		if g != group {
			group = g
			tw.Flush()
			ew.printf("\n%s\n", g)
		}
		msg := res.Message
		if i := strings.IndexByte(msg, '\n'); i >= 0 {
			msg = msg[:i] + " ..."
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", statusWord(res.Status), res.Name, roundDuration(res.Duration), msg)
	}
	tw.Flush()
	pass, fail, skip := r.Counts()
	ew.printf("\n%d passed, %d failed, %d skipped\n", pass, fail, skip)
	return ew.err
}

// FailureDetails writes the full message of every failed check, for a
// reader who wants more than the table's first line.
func (r *Report) FailureDetails(w io.Writer) error {
	ew := &errWriter{w: w}
	for _, res := range r.Results {
		if res.Status == Fail {
			ew.printf("--- FAIL %s\n%s\n", res.Name, indent(res.Message))
		}
	}
	return ew.err
}

func statusWord(s Status) string {
	switch s {
	case Pass:
		return "ok"
	case Fail:
		return "FAIL"
	case Skip:
		return "skip"
	}
	return string(s)
}

func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(time.Millisecond)
	}
	return d.Round(time.Microsecond)
}

func joinOrNone[T ~string](xs []T) string {
	if len(xs) == 0 {
		return "(none)"
	}
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = string(x)
	}
	return strings.Join(s, ", ")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}

// errWriter remembers the first write error, so WriteTable can return it.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) { fmt.Fprintf(e, format, args...) }

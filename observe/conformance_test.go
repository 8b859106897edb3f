package observe_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/backends/software"
	"github.com/keyplane/keyplane/conformance"
	"github.com/keyplane/keyplane/observe"
)

// TestConformanceSoftware runs the conformance suite over
// observe.Wrap(software:memory) and checks what the run left in the audit
// log, the metrics and the spans.
func TestConformanceSoftware(t *testing.T) {
	h := newHarness(t, "software:memory")
	var taps []*tap
	t.Run("suite", func(t *testing.T) {
		conformance.Run(t, func(t *testing.T) backend.Backend {
			ks, err := software.Open(t.Context(), "software:memory")
			if err != nil {
				t.Fatal(err)
			}
			tp := &tap{Backend: ks}
			taps = append(taps, tp)
			return observe.Wrap(tapExporter{tp}, h.opts)
		}, conformance.Config{Short: true})
	})
	checkRun(t, h, taps, "software:memory", []string{
		"generate-key", "key", "keys", "delete-key", "import-key", "export-key",
		"signer", "decrypter", "aead", "fernet",
		"sign", "decrypt", "seal", "open", "mac", "encrypt-cbc", "decrypt-cbc",
	})
}

// wantOutcomes are outcomes every conformance run provokes: unknown keys,
// tampered ciphertexts, malformed input, refused options.
var wantOutcomes = []string{
	observe.OutcomeOK, observe.OutcomeNotFound, observe.OutcomeDecryption,
	observe.OutcomeInvalidInput, observe.OutcomeUnsupported,
}

// wantSignOps are operation names the suite's signatures must be recorded
// under (every backend it runs on signs with these).
var wantSignOps = []string{"rsa-pkcs1v15-sha256", "rsa-pss-sha256", "ecdsa-sha256", "ecdsa-sha384"}

// auditFields are the only fields an audit record may have.
var auditFields = []string{"time", "level", "msg", "backend", "operation", "method", "outcome", "key_label", "key_id", "key_ref", "duration"}

// checkRun asserts the observations of a conformance run: every method
// seen, the wanted outcomes among them, one audit record, one counter
// increment, one histogram sample and one span per operation, all with the
// same attributes, and none holding data that passed through a key use.
func checkRun(t *testing.T, h *harness, taps []*tap, backendName string, methods []string) {
	t.Helper()
	rm := h.collect(t)
	cnt := counts(t, rm)
	hist := histCounts(t, rm)
	byMethod := map[string]int64{}
	outcomes := map[string]int64{}
	ops := map[string]bool{}
	var total int64
	for k, n := range cnt {
		if k.backend != backendName {
			t.Errorf("counter with backend %q, want %q", k.backend, backendName)
		}
		byMethod[k.method] += n
		outcomes[k.outcome] += n
		ops[k.operation] = true
		total += n
		if hist[k] != uint64(n) {
			t.Errorf("%+v: counter %d, histogram samples %d", k, n, hist[k])
		}
	}
	t.Logf("%d operations; by method %v; by outcome %v", total, byMethod, outcomes)
	for _, m := range methods {
		if byMethod[m] == 0 {
			t.Errorf("no %q operation counted", m)
		}
	}
	for _, o := range wantOutcomes {
		if outcomes[o] == 0 {
			t.Errorf("no operation with outcome %q counted", o)
		}
	}
	for _, op := range wantSignOps {
		if !ops[op] {
			t.Errorf("no operation %q counted", op)
		}
	}

	// One audit record per operation, with the same attributes.
	recs := h.records(t)
	if int64(len(recs)) != total {
		t.Errorf("%d audit records for %d counted operations", len(recs), total)
	}
	recCount := map[opKey]int64{}
	for i, r := range recs {
		for f := range r {
			if !slices.Contains(auditFields, f) {
				t.Errorf("audit record %d has field %q (allowed: %v)", i, f, auditFields)
			}
		}
		for _, f := range []string{"time", "msg", "backend", "operation", "method", "outcome", "duration"} {
			if _, ok := r[f]; !ok {
				t.Errorf("audit record %d lacks %q: %v", i, f, r)
			}
		}
		if r["msg"] != observe.AuditMessage {
			t.Errorf("audit record %d: msg %v", i, r["msg"])
		}
		str := func(f string) string { s, _ := r[f].(string); return s }
		k := opKey{str("backend"), str("operation"), str("method"), str("outcome")}
		recCount[k]++
		if k.method == "sign" || k.method == "decrypt" || k.method == "seal" || k.method == "open" || k.method == "mac" {
			if str("key_label") == "" || str("key_id") == "" {
				t.Errorf("audit record %d of a %s lacks the key's label or ID: %v", i, k.method, r)
			}
		}
	}
	for k, n := range cnt {
		if recCount[k] != n {
			t.Errorf("%+v: counter %d, audit records %d", k, n, recCount[k])
		}
	}

	// One span per operation, with the same attributes, an error status
	// exactly when the outcome is not "ok".
	spans := h.spans.Ended()
	if int64(len(spans)) != total {
		t.Errorf("%d spans for %d counted operations", len(spans), total)
	}
	spanCount := map[opKey]int64{}
	var spanText strings.Builder
	for _, s := range spans {
		set := attribute.NewSet(s.Attributes()...)
		k := keyOfSet(set)
		spanCount[k]++
		if s.Name() != "keyplane "+k.operation {
			t.Errorf("span %q for operation %q", s.Name(), k.operation)
		}
		if failed := s.Status().Code == codes.Error; failed != (k.outcome != observe.OutcomeOK) {
			t.Errorf("span %q with outcome %q has status %v", s.Name(), k.outcome, s.Status())
		}
		for _, kv := range s.Attributes() {
			fmt.Fprintf(&spanText, "%s=%s\n", kv.Key, kv.Value.String())
		}
	}
	for k, n := range cnt {
		if spanCount[k] != n {
			t.Errorf("%+v: counter %d, spans %d", k, n, spanCount[k])
		}
	}

	// Nothing that passed through a key use is in any of them.
	kept := 0
	labels := map[string]bool{}
	for _, tp := range taps {
		for _, l := range tp.keyLabels() {
			labels[l] = true
		}
	}
	for _, tp := range taps {
		kept += tp.count()
		tp.checkAbsent(t, "the audit log", h.logText(), labels)
		tp.checkAbsent(t, "the spans' attributes", spanText.String(), labels)
		tp.checkAbsent(t, "the metrics' attributes", fmt.Sprint(cnt), labels)
	}
	if kept < 100 {
		t.Errorf("the taps kept only %d byte strings: the check for data in the records looked at too little", kept)
	}
	t.Logf("looked for %d byte strings that passed through key uses in %d records and %d spans", kept, len(recs), len(spans))
}

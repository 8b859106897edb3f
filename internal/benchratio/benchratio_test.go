package benchratio

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	in := `goos: linux
BenchmarkSign/ec-p256/workers=1/raw-2         	   1000	     100 ns/op
BenchmarkSign/ec-p256/workers=1/raw-2         	   1000	     120 ns/op
BenchmarkSign/ec-p256/workers=1/raw-2         	   1000	     110 ns/op
BenchmarkSign/ec-p256/workers=1/keyplane-2    	   1000	     125 ns/op	  64 B/op
BenchmarkSign/ec-p256/workers=1/keyplane-2    	   1000	     115 ns/op	  64 B/op
BenchmarkSign/ec-p256/workers=1/crypto11-2    	   1000	     220 ns/op
BenchmarkSign/rsa-2048/workers=1/keyplane-2   	   1000	     500 ns/op
PASS
`
	rows, err := Parse(strings.NewReader(in), "raw", []string{"keyplane", "crypto11"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("got %d rows, want 2 (rsa-2048 has no baseline): %+v", len(rows), rows)
	}
	kp := rows[0]
	if kp.Group != "BenchmarkSign/ec-p256/workers=1/*" || kp.Impl != "keyplane" || kp.BaseNs != 110 || kp.ImplNs != 120 || kp.Runs != 2 || kp.BaseRuns != 3 {
		t.Errorf("keyplane row = %+v", kp)
	}
	if got, want := kp.Speed, 110.0/120.0; got != want {
		t.Errorf("speed = %v, want %v", got, want)
	}
	if rows[1].Impl != "crypto11" || rows[1].AddedNs != 110 {
		t.Errorf("crypto11 row = %+v", rows[1])
	}
	var b strings.Builder
	if err := Write(&b, rows); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "0.92x") {
		t.Errorf("table lacks the keyplane ratio:\n%s", b.String())
	}
}

func TestParseBadNumber(t *testing.T) {
	_, err := Parse(strings.NewReader("BenchmarkX/raw-2 10 abc ns/op\n"), "raw", nil)
	if err == nil || !strings.Contains(err.Error(), "abc") {
		t.Fatalf("err = %v, want one naming the bad figure", err)
	}
}

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

func TestMedians(t *testing.T) {
	in := `goos: linux
BenchmarkSign/rsa-2048/plugin/par2-2   	 100	 400 ns/op	 300 host-cpu-ns/op	 500 plugin-cpu-ns/op	 16 B/op
BenchmarkSign/rsa-2048/plugin/par2-2   	 100	 420 ns/op	 100 host-cpu-ns/op	 520 plugin-cpu-ns/op	 16 B/op
BenchmarkSign/rsa-2048/plugin/par2-2   	 100	 410 ns/op	 200 host-cpu-ns/op	 510 plugin-cpu-ns/op	 16 B/op
BenchmarkSign/rsa-2048/inprocess/par2-2	 100	 350 ns/op	 700 host-cpu-ns/op
--- BENCH: BenchmarkSign/rsa-2048/plugin/par2-2
PASS
`
	ms, err := Medians(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 {
		t.Fatalf("got %d benchmarks, want 2: %+v", len(ms), ms)
	}
	p := ms[0]
	if p.Name != "BenchmarkSign/rsa-2048/plugin/par2" || p.Runs != 3 || p.Median["ns/op"] != 410 || p.Median["host-cpu-ns/op"] != 200 || p.Median["plugin-cpu-ns/op"] != 510 {
		t.Errorf("plugin = %+v", p)
	}
	if _, ok := p.Median["B/op"]; ok || strings.Join(p.Units, ",") != "ns/op,host-cpu-ns/op,plugin-cpu-ns/op" {
		t.Errorf("plugin units = %v (B/op is left out)", p.Units)
	}
	var b strings.Builder
	if err := WriteMedians(&b, ms); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "510 plugin-cpu-ns/op") || !strings.Contains(b.String(), "BenchmarkSign/rsa-2048/inprocess/par2") {
		t.Errorf("WriteMedians:\n%s", b.String())
	}
}

// Package benchratio turns `go test -bench` output into ratios against a
// baseline measured in the same run, which is the only kind of figure that
// means anything on a noisy machine.
//
// Benchmarks being compared differ in one "/"-separated name element, the
// implementation: BenchmarkSign/ec-p256/workers=2/raw and
// BenchmarkSign/ec-p256/workers=2/keyplane form one group, "raw" being the
// baseline. Each implementation's ns/op is the median of its -count runs.
package benchratio

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Row is one comparison: an implementation against the baseline in a group.
type Row struct {
	Group    string  // benchmark name with the implementation element replaced by "*"
	Impl     string  // the implementation compared
	Base     string  // the baseline
	BaseNs   float64 // median ns/op of the baseline
	ImplNs   float64 // median ns/op of the implementation
	Speed    float64 // BaseNs / ImplNs: throughput relative to the baseline (1.0 = equal, higher is faster)
	AddedNs  float64 // ImplNs - BaseNs: time added per operation
	Runs     int     // runs of the implementation
	BaseRuns int
}

// Parse reads benchmark lines and returns, for each group that has the
// baseline, one Row per other implementation in impls. The "-N" GOMAXPROCS
// suffix is ignored.
func Parse(r io.Reader, base string, impls []string) ([]Row, error) {
	samples := map[string]map[string][]float64{} // group -> impl -> ns/op
	var order []string
	err := results(r, func(line string, f []string) error {
		ns := -1.0
		for i := 2; i+1 < len(f); i++ {
			if f[i+1] == "ns/op" {
				v, err := strconv.ParseFloat(f[i], 64)
				if err != nil {
					return fmt.Errorf("benchratio: %q: %v", line, err)
				}
				ns = v
			}
		}
		if ns < 0 {
			return nil
		}
		name := stripProcs(f[0])
		parts := strings.Split(name, "/")
		for i, p := range parts {
			if p != base && !slices.Contains(impls, p) {
				continue
			}
			g := slices.Clone(parts)
			g[i] = "*"
			group := strings.Join(g, "/")
			if samples[group] == nil {
				samples[group] = map[string][]float64{}
				order = append(order, group)
			}
			samples[group][p] = append(samples[group][p], ns)
			break
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var rows []Row
	for _, g := range order {
		b := samples[g][base]
		if len(b) == 0 {
			continue
		}
		for _, impl := range impls {
			s := samples[g][impl]
			if len(s) == 0 {
				continue
			}
			bm, im := median(b), median(s)
			rows = append(rows, Row{Group: g, Impl: impl, Base: base, BaseNs: bm, ImplNs: im,
				Speed: bm / im, AddedNs: im - bm, Runs: len(s), BaseRuns: len(b)})
		}
	}
	return rows, nil
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Write prints rows as a table.
func Write(w io.Writer, rows []Row) error {
	_, err := fmt.Fprintf(w, "%-60s %-10s %-10s %12s %12s %8s %12s\n", "group", "impl", "baseline", "base ns/op", "impl ns/op", "speed", "added µs")
	if err != nil {
		return err
	}
	for _, r := range rows {
		_, err := fmt.Fprintf(w, "%-60s %-10s %-10s %12.0f %12.0f %7.2fx %12.1f\n", r.Group, r.Impl, r.Base, r.BaseNs, r.ImplNs, r.Speed, r.AddedNs/1000)
		if err != nil {
			return err
		}
	}
	return nil
}

// Metrics is one benchmark's median of every unit it reported (ns/op and
// any b.ReportMetric units), over its runs.
type Metrics struct {
	Name   string // benchmark name without the -GOMAXPROCS suffix
	Units  []string
	Median map[string]float64
	Runs   int
}

// Medians reads benchmark lines and returns, per benchmark in the order
// first seen, the median of each unit it reported. B/op and allocs/op are
// left out.
func Medians(r io.Reader) ([]Metrics, error) {
	type acc struct {
		units []string
		vals  map[string][]float64
		runs  int
	}
	byName := map[string]*acc{}
	var order []string
	err := results(r, func(line string, f []string) error {
		name := stripProcs(f[0])
		a := byName[name]
		if a == nil {
			a = &acc{vals: map[string][]float64{}}
			byName[name] = a
			order = append(order, name)
		}
		a.runs++
		for i := 2; i+1 < len(f); i += 2 {
			unit := f[i+1]
			if unit == "B/op" || unit == "allocs/op" {
				continue
			}
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return fmt.Errorf("benchratio: %q: %v", line, err)
			}
			if _, ok := a.vals[unit]; !ok {
				a.units = append(a.units, unit)
			}
			a.vals[unit] = append(a.vals[unit], v)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]Metrics, 0, len(order))
	for _, name := range order {
		a := byName[name]
		m := Metrics{Name: name, Units: a.units, Median: map[string]float64{}, Runs: a.runs}
		for u, v := range a.vals {
			m.Median[u] = median(v)
		}
		out = append(out, m)
	}
	return out, nil
}

// WriteMedians prints one line per benchmark: its name, runs, and each
// unit's median.
func WriteMedians(w io.Writer, ms []Metrics) error {
	for _, m := range ms {
		line := fmt.Sprintf("%-60s %2d runs", m.Name, m.Runs)
		for _, u := range m.Units {
			line += fmt.Sprintf("  %12.0f %s", m.Median[u], u)
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	return nil
}

// results calls fn with each benchmark result line of r and its fields:
// "BenchmarkName-N  iterations  value unit  value unit ...".
func results(r io.Reader, fn func(line string, fields []string) error) error {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue // not a result line
		}
		if err := fn(sc.Text(), f); err != nil {
			return err
		}
	}
	return sc.Err()
}

// stripProcs removes the "-N" GOMAXPROCS suffix of a benchmark name.
func stripProcs(name string) string {
	if i := strings.LastIndex(name, "-"); i > 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			return name[:i]
		}
	}
	return name
}

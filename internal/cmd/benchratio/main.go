// Command benchratio reads `go test -bench` output on stdin and prints each
// implementation's speed relative to a baseline measured in the same run.
//
//	go test -run '^$' -bench . -count 6 ./backends/pkcs11 | go run ./internal/cmd/benchratio -base raw -impl keyplane,crypto11
//
// With -medians it prints, per benchmark, the median of every unit reported
// (ns/op and custom metrics such as the plugins' host-cpu-ns/op).
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/keyplane/keyplane/internal/benchratio"
)

func main() {
	base := flag.String("base", "", "name element of the baseline implementation (e.g. raw, stdlib, inprocess)")
	impls := flag.String("impl", "", "comma-separated name elements of the implementations to compare")
	medians := flag.Bool("medians", false, "print each benchmark's median of every unit it reported (ns/op and b.ReportMetric units) instead of ratios")
	flag.Parse()
	if *medians {
		ms, err := benchratio.Medians(os.Stdin)
		if err == nil {
			err = benchratio.WriteMedians(os.Stdout, ms)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		return
	}
	if *base == "" || *impls == "" {
		fmt.Fprintln(os.Stderr, "benchratio: -base and -impl are required")
		os.Exit(2)
	}
	rows, err := benchratio.Parse(os.Stdin, *base, strings.Split(*impls, ","))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if len(rows) == 0 {
		fmt.Fprintf(os.Stderr, "benchratio: no benchmark pairs with baseline %q\n", *base)
		os.Exit(1)
	}
	if err := benchratio.Write(os.Stdout, rows); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}

package main

import (
	"os"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// cmdWaitfile waits up to 10 seconds for a file (a socket a background
// command creates) to exist:
//
//	waitfile path
func cmdWaitfile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitfile path")
	}
	p := ts.MkAbs(args[0])
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Lstat(p); err == nil {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%s did not appear within 10s", args[0])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

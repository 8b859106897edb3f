package main

import (
	"os"
	"path/filepath"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// cmdWaitfile waits up to 10 seconds for a file (a socket a background
// command creates) to exist, and sets $WAITFILE to its path and $WAITDIR
// to its directory. The path may be a glob (one match is waited for):
//
//	waitfile path
func cmdWaitfile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitfile path-or-glob")
	}
	pattern := ts.MkAbs(args[0])
	deadline := time.Now().Add(10 * time.Second)
	for {
		matches, err := filepath.Glob(pattern)
		ts.Check(err)
		if len(matches) == 1 {
			if _, err := os.Lstat(matches[0]); err == nil {
				ts.Setenv("WAITFILE", matches[0])
				ts.Setenv("WAITDIR", filepath.Dir(matches[0]))
				return
			}
		}
		if len(matches) > 1 {
			ts.Fatalf("%s matches %d files, want one", args[0], len(matches))
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%s did not appear within 10s", args[0])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Command keyplane generates and uses keys held by any keyplane backend: a
// software keystore, a PKCS#11 token, or a plugin.
//
// Run "keyplane --help" for the commands, and see docs/cli.md.
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

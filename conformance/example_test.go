package conformance_test

import (
	"context"
	"fmt"
	"os"

	"github.com/keyplane/keyplane/backend"
	_ "github.com/keyplane/keyplane/backends/software"
	"github.com/keyplane/keyplane/conformance"
)

// Check runs the suite outside go test, as `keyplane conformance` does,
// and returns a report to print.
func ExampleCheck() {
	ctx := context.Background()
	open := func(ctx context.Context) (backend.Backend, error) {
		return backend.Open(ctx, "software:memory")
	}
	rep, err := conformance.Check(ctx, open, conformance.Config{
		Algorithms: []backend.Algorithm{backend.ECP256, backend.Ed25519},
		Short:      true,
		// Progress: os.Stderr, // one line per check as it finishes
	})
	if err != nil {
		fmt.Println("cannot run:", err)
		return
	}
	if rep.Failed() {
		rep.WriteTable(os.Stdout)
		rep.FailureDetails(os.Stdout)
	}
	_, fail, _ := rep.Counts()
	fmt.Println("backend:", rep.Capabilities.Backend, "failures:", fail)
	// Output: backend: software failures: 0
}

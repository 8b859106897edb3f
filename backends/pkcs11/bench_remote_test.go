//go:build cgo && !nopkcs11

package pkcs11

// The remote-token benchmark: SoftHSM2 behind `p11-kit server`, reached
// through p11-kit-client.so over a Unix socket — the stand-in for a
// network HSM, where every call is a round trip.
//
//	go test ./backends/pkcs11 -run '^$' -bench SignRemote -count 6 > remote.txt
//	go tool benchstat -col '/impl@(raw keyplane crypto11)' remote.txt
//
// Names are BenchmarkSignRemote/<alg>/workers=<n>/impl=<impl>, as in
// BenchmarkSign. keyplane and the raw loop share keyplane's instance of the
// client module (one connection to the server); crypto11 gets an instance
// of its own from the same library (p11-kit's client returns a new
// instance, with its own connection, on every C_GetFunctionList).

import (
	"fmt"
	"testing"

	"github.com/ThalesGroup/crypto11"
	"github.com/keyplane/keyplane/internal/testenv"
)

var remoteBenchWorkers = []int{1, 8, 32}

func BenchmarkSignRemote(b *testing.B) {
	kp, c11 := openRemoteBench(b, "")
	benchSignImpls(b, kp, c11, "remote-bench-", remoteBenchWorkers)
}

// openRemoteBench starts the token server and opens keyplane (with extra
// query attributes) and crypto11 on it through p11-kit-client.so.
func openRemoteBench(tb testing.TB, extra string) (*Backend, *crypto11.Context) {
	tb.Helper()
	srv := startP11Kit(tb)
	tok := srv.Tok
	uri := fmt.Sprintf("pkcs11:token=%s?module-path=%s&pin-source=file:%s", tok.Label, testenv.P11KitClientModule, pinFile(tb, tok.PIN))
	if extra != "" {
		uri += "&" + extra
	}
	kp, err := Open(tb.Context(), uri)
	if err != nil {
		tb.Fatalf("Open through p11-kit: %v", err)
	}
	tb.Cleanup(func() { kp.Close() })
	c11, err := crypto11.Configure(&crypto11.Config{Path: testenv.P11KitClientModule, TokenLabel: tok.Label, Pin: tok.PIN})
	if err != nil {
		tb.Fatalf("crypto11.Configure on p11-kit-client.so: %v", err)
	}
	tb.Cleanup(func() { c11.Close() })
	return kp, c11
}

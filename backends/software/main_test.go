package software

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/keyplane/keyplane/backend"
)

// roleEnv selects a helper role when the test binary re-executes itself
// (see process_test.go).
const roleEnv = "KEYPLANE_SOFTWARE_TEST_ROLE"

// testIterations keeps PBKDF2 cheap in tests; tests that check the real
// default set kdfIterations back.
const testIterations = 1000

func TestMain(m *testing.M) {
	kdfIterations = testIterations
	if role := os.Getenv(roleEnv); role != "" {
		os.Exit(runRole(role))
	}
	os.Exit(m.Run())
}

// runRole is the body of a child process.
func runRole(role string) int {
	ctx := context.Background()
	ks, err := Open(ctx, os.Getenv("KEYPLANE_TEST_URI"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 2
	}
	defer ks.Close()
	prefix := os.Getenv("KEYPLANE_TEST_PREFIX")
	n, _ := strconv.Atoi(os.Getenv("KEYPLANE_TEST_COUNT"))
	switch role {
	case "churn":
		return churn(ctx, ks, prefix, n)
	case "writer":
		start, _ := strconv.Atoi(os.Getenv("KEYPLANE_TEST_START"))
		for i := start; ; i++ {
			label := fmt.Sprintf("%s-%d", prefix, i)
			alg := []backend.Algorithm{backend.ECP256, backend.Ed25519, backend.AES256, backend.Fernet}[i%4]
			k, err := ks.GenerateKey(ctx, backend.KeySpec{Label: label, Algorithm: alg})
			if err != nil {
				fmt.Fprintln(os.Stderr, "generate:", err)
				return 2
			}
			fmt.Printf("wrote %s %s\n", label, k.IDHex())
		}
	}
	fmt.Fprintln(os.Stderr, "unknown role", role)
	return 2
}

// churn generates n keys of its own, deletes every third, and races for
// ten shared labels. It prints one line per outcome for the parent.
func churn(ctx context.Context, ks *Keystore, prefix string, n int) int {
	for i := range n {
		label := fmt.Sprintf("%s-%d", prefix, i)
		alg := backend.Ed25519
		if i%5 == 0 {
			alg = backend.AES256
		}
		k, err := ks.GenerateKey(ctx, backend.KeySpec{Label: label, Algorithm: alg})
		if err != nil {
			fmt.Fprintln(os.Stderr, "generate:", err)
			return 2
		}
		if i%3 == 0 {
			if err := ks.DeleteKey(ctx, "id:"+k.IDHex()); err != nil {
				fmt.Fprintln(os.Stderr, "delete:", err)
				return 2
			}
			fmt.Printf("deleted %s %s\n", label, k.IDHex())
		} else {
			fmt.Printf("kept %s %s\n", label, k.IDHex())
		}
		shared := fmt.Sprintf("shared-%d", i%10)
		if i < 10 {
			k, err := ks.GenerateKey(ctx, backend.KeySpec{Label: shared, Algorithm: backend.ECP256})
			switch {
			case err == nil:
				fmt.Printf("won %s %s\n", shared, k.IDHex())
			case backend.Kind(err) == backend.ErrAlreadyExists:
				fmt.Printf("lost %s -\n", shared)
			default:
				fmt.Fprintln(os.Stderr, "generate shared:", err)
				return 2
			}
		}
	}
	return 0
}

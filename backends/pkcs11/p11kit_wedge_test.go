//go:build cgo && !nopkcs11

package pkcs11

// The token server killed and restarted under load, many times, with
// p11-kit's client module called concurrently (as an application with
// four signing goroutines calls it): the client can hang for good in a
// call when its server dies (docs/backends/pkcs11.md, "A module that hangs"), and
// the backend must contain that — no caller blocked past its deadline, no
// wrong result.

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/testenv"
	"github.com/miekg/pkcs11"
)

// TestP11KitKillCycles: SoftHSM2 behind `p11-kit server`, reached through
// p11-kit-client.so called from 4 goroutines at once (no serialization),
// each signing and verifying in a loop; the server's process group is
// SIGKILLed, kept down 1.5 s and started again, 20 times
// (KEYPLANE_P11KIT_CYCLES=n for more). Asserted: every signature returned
// verifies, every failure is ErrUnavailable, and no Sign call takes longer
// than the call timeout plus a small slack — whatever the client module
// does. Reported per cycle: recovered (and how fast after the server's
// return) or not within 2 s, and whether the module is hung (a call that
// never returned: p11-kit's client on a dead server; see
// docs/backends/pkcs11.md). A hung module does not recover in process:
// plugin+pkcs11: is the answer for that, tested in plugins/.
//
// The module is a private copy of p11-kit-client.so (a separate instance
// of the library, as in crypto11Context), so that a hang here cannot
// reach the other tests of the process, which share the real path.
func TestP11KitKillCycles(t *testing.T) {
	if testing.Short() {
		t.Skip("20 kill/restart cycles take 70–100 s; run without -short")
	}
	srv := startP11Kit(t)
	tok := srv.Tok
	cycles := 20
	if v, err := strconv.Atoi(os.Getenv("KEYPLANE_P11KIT_CYCLES")); err == nil && v > 0 {
		cycles = v
	}
	lib := filepath.Join(t.TempDir(), "p11-kit-client-kill-cycles.so")
	if err := testenv.CopyFile(lib, testenv.P11KitClientModule, 0o700); err != nil {
		t.Fatal(err)
	}
	const callTimeout = time.Second
	const blockSlack = 500 * time.Millisecond // a loaded 2-core machine, -race
	uri := fmt.Sprintf("pkcs11:token=%s?module-path=%s&pin-source=file:%s&call-timeout=%v", tok.Label, lib, pinFile(t, tok.PIN), callTimeout)
	b, err := Open(t.Context(), uri)
	if err != nil {
		t.Fatalf("Open through p11-kit: %v", err)
	}
	defer b.Close()
	label := genKey(t, b, backend.ECP256)
	s, err := b.Signer(t.Context(), label)
	if err != nil {
		t.Fatal(err)
	}
	var hungErrs atomic.Int64           // the ErrUnavailable errors that were HungModuleError
	var lastHung atomic.Pointer[string] // the latest of them
	load := testenv.StartSignLoad(s, 4, testenv.SignLoadOptions{OnUnavailable: func(err error) {
		var hung *HungModuleError
		if errors.As(err, &hung) {
			hungErrs.Add(1)
			msg := err.Error()
			lastHung.Store(&msg)
		}
	}})
	halted := false
	defer func() {
		if !halted {
			load.Halt(5 * time.Second)
		}
	}()
	if _, ok := load.WaitOK(time.Now(), 10*time.Second); !ok {
		t.Fatal("no signature before the first fault")
	}

	const down, recoveryLimit = 1500 * time.Millisecond, 2 * time.Second
	var recovered, hungCycles, freshOK int
	var worst, freshWorst time.Duration
	for c := range cycles {
		ok0, unav0, hung0 := load.OK.Load(), load.Unavailable.Load(), hungErrs.Load()
		srv.Kill()
		time.Sleep(down)
		srv.Start()
		back := time.Now()
		at, ok := load.WaitOK(back, recoveryLimit)
		outcome := ""
		if ok {
			recovered++
			rec := at.Sub(back)
			worst = max(worst, rec)
			outcome = fmt.Sprintf("recovered %v after the server's return", rec.Round(time.Millisecond))
			time.Sleep(200 * time.Millisecond) // steady again before the next kill
		} else {
			outcome = fmt.Sprintf("not recovered within %v", recoveryLimit)
			var hung *HungModuleError
			if errors.As(b.mod.wedged(), &hung) {
				hungCycles++
				outcome += fmt.Sprintf(" — hung: %d operation(s) inside the module for up to %v", hung.Calls, hung.Stuck.Round(time.Millisecond))
				// What replacing the hung instance would give: a fresh
				// instance of the same library, beside the stuck one.
				took, err := freshInstanceSign(lib, tok.Label, tok.PIN, label)
				if err == nil {
					freshOK++
					freshWorst = max(freshWorst, took)
					outcome += fmt.Sprintf("; a fresh instance of the module (pkcs11.New, C_Initialize, C_Login) signed in %v", took.Round(time.Millisecond))
				} else {
					outcome += fmt.Sprintf("; a fresh instance of the module failed: %v", err)
				}
			}
		}
		t.Logf("cycle %2d: %s; %d signatures, %d ErrUnavailable (%d of them HungModuleError) since the kill; longest Sign call so far %v",
			c+1, outcome, load.OK.Load()-ok0, load.Unavailable.Load()-unav0, hungErrs.Load()-hung0,
			time.Duration(load.MaxBlock.Load()).Round(time.Millisecond))
	}
	halted = true
	if !load.Halt(callTimeout + 5*time.Second) {
		t.Errorf("a signing goroutine did not return within %v of the stop: blocked past its deadline", callTimeout+5*time.Second)
	}
	maxBlock := time.Duration(load.MaxBlock.Load())
	t.Logf("summary: %d kill/restart cycles, %d recovered within %v of the server's return (worst %v), %d ended hung (a fresh instance signed in %d of them, in at most %v); %d signatures verified, %d ErrUnavailable (%d of them HungModuleError); longest Sign call %v (call-timeout %v); module calls still inside: %d",
		cycles, recovered, recoveryLimit, worst.Round(time.Millisecond), hungCycles, freshOK, freshWorst.Round(time.Millisecond), load.OK.Load(), load.Unavailable.Load(), hungErrs.Load(),
		maxBlock.Round(time.Millisecond), callTimeout, b.mod.abandoned.count.Load())
	if bad := load.Bad(); len(bad) > 0 {
		t.Errorf("outcomes other than a good signature or ErrUnavailable: %q", bad)
	}
	if maxBlock > callTimeout+blockSlack {
		t.Errorf("a Sign call took %v, past its %v call timeout", maxBlock, callTimeout)
	}
	if load.Unavailable.Load() == 0 {
		t.Errorf("no ErrUnavailable in %d cycles: the faults were not seen", cycles)
	}
	if msg := lastHung.Load(); msg != nil {
		t.Logf("the callers' last HungModuleError: %s", *msg)
		if !strings.Contains(*msg, "plugin+pkcs11:") {
			t.Errorf("hung-module error %q does not point to plugin+pkcs11:", *msg)
		}
	}
}

// freshInstanceSign opens a new instance of the module at lib with
// miekg/pkcs11 alone (p11-kit's client returns a new, independent function
// list on every C_GetFunctionList), signs once with the key label, checks
// the signature and finalizes that instance; at most 5 s. It returns how
// long that took.
func freshInstanceSign(lib, tokenLabel, pin, label string) (time.Duration, error) {
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- rawSignOnce(lib, tokenLabel, pin, label) }()
	select {
	case err := <-done:
		return time.Since(start), err
	case <-time.After(5 * time.Second):
		return time.Since(start), errors.New("the fresh instance did not answer within 5s (left to the module)")
	}
}

func rawSignOnce(lib, tokenLabel, pin, label string) error {
	ctx := pkcs11.New(lib)
	if ctx == nil {
		return errors.New("pkcs11.New failed")
	}
	if err := ctx.Initialize(); err != nil {
		ctx.Destroy()
		// CKR_CRYPTOKI_ALREADY_INITIALIZED would mean a shared instance:
		// never finalize that one.
		return fmt.Errorf("C_Initialize: %w", err)
	}
	defer ctx.Destroy()
	defer ctx.Finalize()
	slots, err := ctx.GetSlotList(true)
	if err != nil {
		return fmt.Errorf("C_GetSlotList: %w", err)
	}
	for _, slot := range slots {
		ti, err := ctx.GetTokenInfo(slot)
		if err != nil || ti.Label != tokenLabel {
			continue
		}
		sh, err := ctx.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION)
		if err != nil {
			return fmt.Errorf("C_OpenSession: %w", err)
		}
		if err := ctx.Login(sh, pkcs11.CKU_USER, pin); err != nil && !errors.Is(err, pkcs11.Error(pkcs11.CKR_USER_ALREADY_LOGGED_IN)) {
			return fmt.Errorf("C_Login: %w", err)
		}
		if err := ctx.FindObjectsInit(sh, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY), pkcs11.NewAttribute(pkcs11.CKA_LABEL, label)}); err != nil {
			return fmt.Errorf("C_FindObjectsInit: %w", err)
		}
		hs, _, err := ctx.FindObjects(sh, 1)
		ctx.FindObjectsFinal(sh)
		if err != nil || len(hs) != 1 {
			return fmt.Errorf("C_FindObjects: %v (%d found)", err, len(hs))
		}
		digest := sha256.Sum256([]byte("fresh instance"))
		if err := ctx.SignInit(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_ECDSA, nil)}, hs[0]); err != nil {
			return fmt.Errorf("C_SignInit: %w", err)
		}
		sig, err := ctx.Sign(sh, digest[:])
		if err != nil {
			return fmt.Errorf("C_Sign: %w", err)
		}
		if len(sig) != 64 {
			return fmt.Errorf("C_Sign: %d bytes", len(sig))
		}
		return nil
	}
	return fmt.Errorf("no token %q", tokenLabel)
}

// TestModuleInstancesIndependent: the evidence that tells whether a second
// instance of a module (pkcs11.New of the same path) has state of its own,
// so that a hung instance could be replaced by a fresh one: its
// C_Initialize succeeds while the first instance is initialized. SoftHSM2
// (like most vendor modules) returns one shared function list — its
// second C_Initialize is CKR_CRYPTOKI_ALREADY_INITIALIZED, and finalizing
// it would finalize every user of the module; p11-kit's client builds a new
// instance (its own connection) on every C_GetFunctionList.
func TestModuleInstancesIndependent(t *testing.T) {
	tok := token(t)
	openTest(t, "") // SoftHSM2 is initialized in this process
	for _, c := range []struct {
		lib         string
		independent bool
	}{{tok.Module, false}, {testenv.P11KitClientModule, true}} {
		if c.independent {
			startP11Kit(t)
			b, err := Open(t.Context(), fmt.Sprintf("pkcs11:token=%s?module-path=%s&pin-value=%s", tok.Label, c.lib, tok.PIN))
			if err != nil {
				t.Fatalf("Open through p11-kit: %v", err)
			}
			b.Close()
		}
		ctx := pkcs11.New(c.lib)
		if ctx == nil {
			t.Fatalf("pkcs11.New(%s) failed", c.lib)
		}
		err := ctx.Initialize()
		t.Logf("%s: a second instance's C_Initialize: %v", c.lib, err)
		if c.independent {
			if err != nil {
				t.Errorf("%s: second instance's C_Initialize: %v, want CKR_OK (an independent instance)", c.lib, err)
			} else {
				ctx.Finalize() // its own state only
			}
		} else if codeOf(err) != pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED {
			t.Errorf("%s: second instance's C_Initialize: %v, want CKR_CRYPTOKI_ALREADY_INITIALIZED (one shared instance)", c.lib, err)
		}
		ctx.Destroy()
	}
}

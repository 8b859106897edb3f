// Command sigstore-kms-keyplane is a sigstore KMS plugin: with it on PATH,
// cosign signs and verifies with a key in any keyplane backend — a
// PKCS#11 token (an HSM), a software keystore, a plugin backend:
//
//	cosign sign-blob --key 'keyplane://pkcs11:token=signing?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/secrets/pin#release' …
//
// cosign runs it once per operation with the protocol version ("v1") as
// its first argument and a JSON request as its second (sigstore's
// cliplugin protocol, github.com/sigstore/sigstore/pkg/signature/kms/cliplugin/common),
// the message on standard input; it answers with one JSON response on
// standard output. The key reference — everything after "keyplane://" —
// is "<backend URI>#<key>" (parseKeyRef); docs/integrations.md has the
// details.
//
// # Security
//
// The key reference is on cosign's command line and on this program's
// (argv[2]), where every user of the machine can read it: a reference
// holding a secret (pin-value=, passphrase=) is refused. The PIN comes
// from a file (pin-source=file:<path>, the file readable by its owner
// only); a software keystore's passphrase from passphrase-source=file:<path>
// or KEYPLANE_PASSPHRASE in the environment cosign passes on. Errors name
// the reference only redacted and never hold a PIN or key bytes. Core
// dumps are turned off before a backend is opened.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/sigstore/sigstore/pkg/signature/kms/cliplugin/common"

	"github.com/keyplane/keyplane/internal/nocore"

	_ "github.com/keyplane/keyplane/backends/awskms"   // awskms:
	_ "github.com/keyplane/keyplane/backends/pkcs11"   // pkcs11:
	_ "github.com/keyplane/keyplane/backends/software" // software:
	_ "github.com/keyplane/keyplane/plugins"           // plugin: and plugin+<scheme>:
)

// maxRequest bounds the JSON request (argv[2]).
const maxRequest = 1 << 20

// defaultTimeout bounds an operation when cosign sets no deadline.
const defaultTimeout = 2 * time.Minute

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

// run is the program: args without the program name. It always writes
// one JSON response to stdout once the request is understood; the exit
// code (which cosign ignores) is 0 for success, 1 for an error reported in
// the response, and 2 for a call that is not the protocol at all.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) != 2 {
		fmt.Fprintf(stderr, "sigstore-kms-keyplane: a sigstore KMS plugin, run by cosign for --key keyplane://<backend URI>#<key>\n"+
			"usage: sigstore-kms-keyplane %s '<JSON request>' (docs/integrations.md)\n", common.ProtocolVersion)
		return 2
	}
	resp, err := handle(args[0], args[1], stdin, getenv)
	if err != nil {
		resp = &common.PluginResp{ErrorMessage: err.Error()}
	}
	if werr := json.NewEncoder(stdout).Encode(resp); werr != nil {
		fmt.Fprintf(stderr, "sigstore-kms-keyplane: writing the response: %v\n", werr)
		return 1
	}
	if err != nil {
		return 1
	}
	return 0
}

// handle checks the protocol version, decodes the request and runs its
// method.
func handle(version, request string, stdin io.Reader, getenv func(string) string) (*common.PluginResp, error) {
	if version != common.ProtocolVersion {
		return nil, fmt.Errorf("protocol version %q is not supported (this plugin speaks %s)", version, common.ProtocolVersion)
	}
	if len(request) > maxRequest {
		return nil, fmt.Errorf("request of %d bytes is too large (at most %d)", len(request), maxRequest)
	}
	var args common.PluginArgs
	if err := json.Unmarshal([]byte(request), &args); err != nil {
		return nil, fmt.Errorf("the request is not the protocol's JSON: %v", err)
	}
	if args.InitOptions == nil || args.MethodArgs == nil {
		return nil, errors.New("the request has no initOptions or no method")
	}
	if v := args.InitOptions.ProtocolVersion; v != common.ProtocolVersion {
		return nil, fmt.Errorf("initOptions.protocolVersion %q is not supported (this plugin speaks %s)", v, common.ProtocolVersion)
	}
	if err := nocore.Disable(); err != nil {
		return nil, fmt.Errorf("turning core dumps off: %v", err)
	}
	ctx, cancel := requestContext(args.InitOptions, args.MethodArgs)
	defer cancel()
	p := &plugin{init: args.InitOptions, stdin: stdin, getenv: getenv}
	return p.call(ctx, args.MethodArgs)
}

// requestContext returns a context with the request's deadline: the
// method's own, else the initialization's, else defaultTimeout from now.
func requestContext(init *common.InitOptions, m *common.MethodArgs) (context.Context, context.CancelFunc) {
	deadline := init.CtxDeadline
	if init.RPCOptions != nil && init.RPCOptions.CtxDeadline != nil {
		deadline = init.RPCOptions.CtxDeadline
	}
	var rpc *common.RPCOptions
	switch {
	case m.PublicKey != nil && m.PublicKey.PublicKeyOptions != nil:
		rpc = &m.PublicKey.PublicKeyOptions.RPCOptions
	case m.SignMessage != nil && m.SignMessage.SignOptions != nil:
		rpc = &m.SignMessage.SignOptions.RPCOptions
	case m.VerifySignature != nil && m.VerifySignature.VerifyOptions != nil:
		rpc = &m.VerifySignature.VerifyOptions.RPCOptions
	case m.CreateKey != nil && m.CreateKey.CtxDeadline != nil:
		deadline = m.CreateKey.CtxDeadline
	}
	if rpc != nil && rpc.CtxDeadline != nil {
		deadline = rpc.CtxDeadline
	}
	if deadline != nil {
		return context.WithDeadline(context.Background(), *deadline)
	}
	return context.WithTimeout(context.Background(), defaultTimeout)
}

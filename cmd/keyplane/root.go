package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/keyplane/keyplane/backend"
	"github.com/spf13/cobra"
	"go.opentelemetry.io/otel/metric"
)

// Exit codes.
const (
	exitOK      = 0 // success
	exitFailed  = 1 // a signature did not verify, a conformance check failed
	exitError   = 2 // bad usage or any other error
	errorPrefix = "keyplane: "
)

// exitCodeError carries an exit code other than exitError up to run.
type exitCodeError struct {
	code int
	err  error
}

func (e *exitCodeError) Error() string { return e.err.Error() }
func (e *exitCodeError) Unwrap() error { return e.err }

// failed returns an error that makes keyplane exit with status 1.
func failed(err error) error { return &exitCodeError{code: exitFailed, err: err} }

// cli is what every command shares: the standard streams, the environment
// and the global flags.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string

	backendURI string // --backend
	force      bool   // --force: --out may replace an existing file

	auditLogPath  string               // --audit-log
	auditFile     *os.File             // opened by the first open of the backend
	meterProvider metric.MeterProvider // set by bench --otel

	prompted []*backend.StaticSecret // PINs asked for on the terminal, zeroed when the run ends
}

const rootLong = `keyplane generates keys and uses them — to sign, verify, encrypt and
decrypt, to make CSRs and certificates — wherever they live: in a software
keystore, a PKCS#11 token (HSM), or behind a plugin. The backend is chosen by
URI; private keys never leave a backend that does not allow it.

Backend selection (first that is set):
  --backend URI
  KEYPLANE_BACKEND=URI
  software:$XDG_DATA_HOME/keyplane/keys (or ~/.local/share/keyplane/keys)

Key references (--key): a label, "id:<hex>", or a form the backend accepts
(a PKCS#11 key URI).

Exit status:
  0  success
  1  a signature is not valid (verify), a check failed (conformance),
     a --module could not be probed (tokens)
  2  usage error, or any other error (message on stderr)

Environment (read by this command only: the keyplane library reads no
environment variable, and the CLI hands it these values in code; the AWS
SDK's own chain, AWS_REGION, AWS_PROFILE, ..., serves awskms: URIs):
  KEYPLANE_BACKEND             backend URI when --backend is absent
  KEYPLANE_PASSPHRASE          passphrase of a software keystore (also plugin+software:)
  KEYPLANE_IMPORT_PASSPHRASE   passphrase of an encrypted PEM file to import
  KEYPLANE_EXPORT_PASSPHRASE   passphrase to encrypt an exported private key
  XDG_DATA_HOME                where the default keystore lives
  KEYPLANE_PLUGIN_PATH         the keyplane-plugin executable (plugin+ URIs)
  KEYPLANE_PLUGIN_SHA256       its pinned SHA-256, in hex (plugin+ URIs)
  KEYPLANE_LOG                 log level on stderr: debug, info, warn (default), error

PINs: pin-source=prompt in a pkcs11: URI asks for the PIN on the terminal
(/dev/tty), without echo, so it is in no file, history or process list.

See docs/cli.md for examples.`

func newRootCmd(c *cli) *cobra.Command {
	root := &cobra.Command{
		Use:           "keyplane",
		Short:         "Use keys held in software keystores, HSMs and plugins",
		Long:          rootLong,
		SilenceUsage:  true,
		SilenceErrors: true,
		// No "completion" command: shell completion is not part of the
		// contract and would only clutter the help.
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	root.SetIn(c.stdin)
	root.SetOut(c.stdout)
	root.SetErr(c.stderr)
	root.PersistentFlags().StringVar(&c.backendURI, "backend", "", "backend `URI` (default: $KEYPLANE_BACKEND, else a software keystore in the user's data directory)")
	root.PersistentFlags().StringVar(&c.auditLogPath, "audit-log", "", "append a JSON record of every key use to `FILE` (created with mode 0600; see docs/observability.md)")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return fmt.Errorf("%w (see %q)", err, cmd.CommandPath()+" --help")
	})
	root.AddCommand(
		newKeygenCmd(c),
		newListCmd(c),
		newPubkeyCmd(c),
		newSignCmd(c),
		newVerifyCmd(c),
		newEncryptCmd(c),
		newDecryptCmd(c),
		newRewrapCmd(c),
		newDeleteCmd(c),
		newImportCmd(c),
		newExportCmd(c),
		newCSRCmd(c),
		newSelfsignCmd(c),
		newCertCmd(c),
		newConformanceCmd(c),
		newBenchCmd(c),
		newBackendsCmd(c),
		newTokensCmd(c),
		newSSHAgentCmd(c),
		newJWSCmd(c),
		newWrapCmd(c), newUnwrapCmd(c), newWrappingKeyCmd(c),
		newRotateCmd(c), newKeyCmd(c),
	)
	return root
}

// run runs keyplane with args (without the program name) and returns the
// exit status. Errors are printed to stderr as one line.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	// The first Ctrl-C (or SIGTERM) cancels the command's context, so that
	// it can clean up (bench deletes its keys); after that, signals have
	// their default effect again, and a second Ctrl-C ends keyplane at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop()
	}()
	defer func() {
		// A bug must not print a Go stack trace at a user; say what
		// happened in one line and fail.
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "%sinternal error: %v\n", errorPrefix, r)
			code = exitError
		}
	}()
	// Backends report warnings through log/slog; show them in keyplane's
	// style on this run's stderr.
	level, err := parseLogLevel(os.Getenv(LogEnv))
	if err != nil {
		fmt.Fprintf(stderr, "%s%v\n", errorPrefix, err)
		return exitError
	}
	prev := slog.Default()
	slog.SetDefault(slog.New(newWarningHandler(stderr, level)))
	defer slog.SetDefault(prev)
	warnSecretArgs(args)
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	root := newRootCmd(c)
	root.SetArgs(args)
	err = root.ExecuteContext(ctx)
	c.zeroPrompted()
	if cerr := c.closeAuditLog(); cerr != nil && err == nil {
		err = cerr
	}
	if err == nil {
		return exitOK
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		err = errors.New("interrupted")
	}
	fmt.Fprintf(stderr, "%s%s\n", errorPrefix, errorLine(err))
	var ec *exitCodeError
	if errors.As(err, &ec) {
		return ec.code
	}
	return exitError
}

// errorLine is the message for err: its text, ending with the kind of error
// (the backend sentinel it wraps: "authentication failed", "unsupported",
// ...) when the text does not already say it, so that every backend's
// errors read alike ("C_Login: CKR_PIN_INCORRECT: authentication failed").
func errorLine(err error) string {
	msg := err.Error()
	var nf *notFoundError
	if errors.As(err, &nf) {
		return msg // says it already, in words
	}
	if kind := backend.Kind(err); kind != nil && !strings.Contains(msg, kind.Error()) {
		msg += ": " + kind.Error()
	}
	return msg
}

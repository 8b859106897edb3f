// Package plugins runs keyplane backends out of process, over
// github.com/hashicorp/go-plugin and gRPC (protocol keyplane.plugin.v1 in
// proto/keyplane/plugin/v1).
//
// On the host side, importing the package registers two URI schemes with
// package backend:
//
//	plugin+<scheme>:<rest>          a built-in backend in the keyplane-plugin executable
//	plugin:/abs/path?sha256=<hex>   a third-party plugin executable
//
// so that backend.Open(ctx, "plugin+pkcs11:token=t?module-path=...") gives a
// backend.Backend whose crypto.Signer and crypto.Decrypter values call into
// a child process. A vendor PKCS#11 library that crashes, leaks or hangs
// then takes down the child, not the application. Open does the same with
// Options.
//
// On the plugin side, Serve and ServeOpen turn a backend.Backend into a
// plugin executable in a main of a few lines; examples/plugin-memory is a
// complete one, and docs/plugins.md the guide.
//
// # Errors
//
// The plugin's errors reach the host as gRPC statuses carrying the keyplane
// sentinel (a google.rpc.ErrorInfo reason "keyplane.ErrNotFound" and so on),
// so errors.Is(err, backend.ErrNotFound) holds on the host as it does in the
// plugin, with the plugin's message kept (as a *RemoteError). Decryption
// failures stay the one vague backend.ErrDecryption. A child that died or
// cannot be reached gives backend.ErrUnavailable.
//
// # Crashes, hangs and supervision
//
// When the child dies, the calls in flight fail at once with
// backend.ErrUnavailable and the next call starts a fresh child, sending it
// the backend configuration again. The dead process is reaped. The host
// also kills a live child (SIGKILL to its process group) and replaces it
// when a call is unanswered at the host's deadline (Options.CallTimeout),
// when it fails or does not answer its health check (the Ping RPC, every
// Options.HealthInterval, within Options.HealthTimeout; a backend may
// report itself broken through HealthChecker), or when
// Options.MaxUnavailable calls in a row end in ErrUnavailable (a wedged
// PKCS#11 module answers that way for ever). Signers and decrypters keep
// working across replacements. There is no automatic retry: a Sign that
// failed is not repeated behind the caller's back. A backend that keeps
// keys in memory (plugin+software:memory, the example plugin) starts empty
// after a restart.
//
// # Concurrency
//
// A plugin backend, and the signers, decrypters and AEAD and Fernet keys it
// hands out, are safe for concurrent use. Management calls share one gRPC
// connection (HTTP/2 streams over a Unix socket); Sign and Decrypt use the
// direct channel, a pool of TLS connections each carrying one call at a
// time (docs/plugins.md). There is no per-call set-up. Starting a child is
// serialized and runs on its own goroutine: after a crash, one start runs
// and callers wait for it, each no longer than its own deadline. After
// children that never served a call, the next start is delayed (50 ms
// doubling to 1 s) and callers get ErrUnavailable at once meanwhile.
//
// # Security
//
// go-plugin's AutoMTLS is always on: host and child authenticate each other
// with one-time certificates over the Unix socket. With sha256= (or
// Options.SHA256, which the keyplane CLI sets from $KEYPLANE_PLUGIN_SHA256
// for keyplane-plugin) the
// executable is copied once while it is hashed — to a sealed memfd on
// Linux, else to a directory only the host's user can enter — and every
// start runs that copy, so the bytes run are the bytes checked; a mismatch
// refuses to start it. Serve and ServeOpen turn core dumps off in the
// child (RLIMIT_CORE 0, PR_SET_DUMPABLE 0 on Linux); the buffers reused
// for plaintexts and key material on both sides are zeroed after use. The child does not inherit the host's environment: only the
// variables in ChildEnvNames (PATH, HOME, TMPDIR, SOFTHSM2_CONF, ...) and
// Options.ForwardEnv reach it, never a PIN or passphrase variable. The
// backend URI, which may hold a PIN, is sent in the first gRPC call, never
// on the command line or in the environment; so are the secrets of
// Config.PIN and Config.Passphrase, which the host calls at each child
// start (OpenBackendWithSecrets) and zeroes once sent. The package reads
// no environment variable for its own configuration (the CLI reads
// KEYPLANE_PLUGIN_PATH and KEYPLANE_PLUGIN_SHA256 and sets Options); it
// only passes the ChildEnvNames allow-list through to the child, and the
// child reads the log level its host set. ImportKey sends key material
// over that channel (PKCS#8 DER for private keys, raw bytes for secret
// keys). The direct channel for Sign and Decrypt is a Unix socket in a
// private directory the host makes, with TLS 1.3 and one-time certificates
// exchanged over the gRPC channel and pinned on both ends. The child's
// stdout and stderr go to the host's slog logger.
//
// backend.Exporter is not offered across the boundary: keeping private keys
// in the child is the point of running it there, and a keystore whose keys
// may be exported can be opened in process instead. Key wrapping is
// (backend.KeyWrapper, backend.KeyUnwrapper, KeySpec.Wrappable): a key
// leaves the child's backend only encrypted under a wrapping key that
// backend holds, and the ciphertext crosses the channel, unlogged; the
// plugin side zeroes its copy after unwrapping.
//
// # Limitations
//
// crypto.Signer.Sign and crypto.Decrypter.Decrypt take no context; each
// call is bounded by Options.CallTimeout (by default the child backend's
// call-timeout= plus 2 seconds, else 30 seconds; timeout= in a plugin:
// URI), after which it fails with context.DeadlineExceeded and
// backend.ErrUnavailable and the child is replaced. The rand argument of
// Sign and Decrypt is ignored: the plugin's backend uses its own
// randomness. A pinned executable's copy costs its size in memory for the
// life of the host. On Linux the child is killed when the host dies (PR_SET_PDEATHSIG);
// elsewhere it may outlive a killed host. go-plugin gives the child the
// host's standard input; keyplane's plugin side never reads it. One request
// carries at most 256 MiB (AEAD plaintext, an Ed25519 message); more is
// ErrInvalidInput.
package plugins

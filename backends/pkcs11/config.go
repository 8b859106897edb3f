package pkcs11

// Config configures a PKCS#11 backend: it is the parsed URI (ParseURI
// returns one), plus what only code can supply — the PIN callback,
// Config.PIN:
//
//	c, err := pkcs11.ParseURI("pkcs11:token=signing?module-path=/usr/lib/softhsm/libsofthsm2.so")
//	c.PIN = func(ctx context.Context) ([]byte, error) { return secrets.Get(ctx, "hsm-pin") }
//	b, err := pkcs11.OpenConfig(ctx, c)
//
// It is the same type as URI (an alias), so that a key URI and a backend
// URI parse alike and every attribute is a field; the name says what
// OpenConfig takes. String, GoString and Format never show the PIN, a
// pin-value, or module-init-args.
type Config = URI

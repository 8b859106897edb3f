// Package observe puts any keyplane backend in a wrapper that observes
// every key use: an audit log (log/slog), OpenTelemetry metrics and a span
// per operation.
//
//	b, err := backend.Open(ctx, uri)
//	...
//	b = observe.Wrap(b, observe.Options{
//		AuditLog:       slog.New(slog.NewJSONHandler(auditFile, nil)),
//		MeterProvider:  meterProvider,  // nil: otel.GetMeterProvider()
//		TracerProvider: tracerProvider, // nil: otel.GetTracerProvider()
//		Backend:        uri,            // redacted before use
//	})
//
// The application chooses the exporters: this package only makes
// instruments on the providers it is given. docs/observability.md lists
// every record, metric and attribute.
//
// # What is recorded
//
// For each call of GenerateKey, Key, Keys, DeleteKey, ImportKey,
// ExportKey, Signer, Decrypter, AEAD and Fernet, and for each use of a
// handle they return (Sign, Decrypt, Seal, Open, MAC, EncryptCBC,
// DecryptCBC): one audit record with the message AuditMessage and the
// fields backend, operation, method, outcome, key_label and key_id (or
// key_ref, redacted, when the key is unknown) and duration; one increment
// of MetricOperations and one sample of MetricDuration with the attributes
// AttrBackend, AttrOperation, AttrMethod and AttrOutcome; and one span
// named "keyplane <operation>" with the same attributes, the key's label
// and ID, and an error status on failure. The operation is the keyplane
// operation name where one describes the call ("ecdsa-sha256",
// "rsa-oaep-sha256", "aes-256-gcm", "fernet"), else the method. The outcome
// is "ok" or the name of the backend sentinel the error wraps (Outcome).
//
// Capabilities, Close and Health are not key uses and are not observed.
//
// # Security
//
// Records, metrics and spans never hold a digest, a message, a plaintext,
// a ciphertext, a signature, key material, a PIN or passphrase, nor an
// error's text (which could quote input): only names, the outcome and the
// duration. The backend's name is passed through backend.Redact, and so is
// a key reference that is a URI.
//
// # Concurrency
//
// A wrapped backend and its handles are as safe for concurrent use as the
// backend inside; the wrapper adds no locks on the call path.
//
// # Limitations
//
// Making a handle (Signer, Decrypter, AEAD, Fernet) and DeleteKey and
// ExportKey look the key up once more in the inner backend, to record its
// label and ID. Sign and Decrypt take no context, so their spans are
// children of the span that was current when the handle was made. Methods
// of the concrete backend type (pkcs11.Backend.URI, plugins.Plugin.PID)
// are reached through Unwrap.
package observe

//go:generate go run gen_compose.go

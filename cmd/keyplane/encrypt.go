package main

//lint:file-ignore SA1019 rsa-pkcs1v15 decryption is an operation keyplane offers for data that already exists; docs/decisions.md says why and points new data at OAEP

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"

	"github.com/keyplane/keyplane/backend"
	"github.com/spf13/cobra"
)

// cryptFlags are the flags encrypt and decrypt share.
type cryptFlags struct {
	ref, alg, in, out string
	oaepLabel, aad    string
	envelope          bool // encrypt --envelope
	version           int
}

// resolveVersion points f.ref at the version --version names.
func (f *cryptFlags) resolveVersion(ctx context.Context, b backend.Backend) (err error) {
	f.ref, err = versionRef(ctx, b, f.ref, f.version)
	return err
}

// keyAndInput is what encrypt and decrypt do first with the backend:
// point --key at --version, look the key up, check that op applies to it,
// and read the input (--in).
func (f *cryptFlags) keyAndInput(ctx context.Context, c *cli, b backend.Backend, op backend.Operation) (*backend.Key, []byte, error) {
	if err := f.resolveVersion(ctx, b); err != nil {
		return nil, nil, err
	}
	k, err := lookupKey(ctx, b, f.ref)
	if err != nil {
		return nil, nil, err
	}
	if err := checkApplies(op, k); err != nil {
		return nil, nil, err
	}
	in, err := c.readInput(f.in)
	if err != nil {
		return nil, nil, err
	}
	return k, in, nil
}

func (f *cryptFlags) add(c *cli, cmd *cobra.Command, verb string) {
	addKeyFlag(cmd, &f.ref)
	addVersionFlag(cmd, &f.version)
	cmd.Flags().StringVar(&f.alg, "alg", "", "`algorithm` (required, except for envelopes)")
	cmd.Flags().StringVar(&f.in, "in", "", "`FILE` to "+verb+" (default: stdin)")
	c.addOutFlag(cmd, &f.out, "write the result to `FILE` (default: stdout)")
	cmd.Flags().StringVar(&f.oaepLabel, "label", "", "OAEP label, as `text` (rsa-oaep-* only)")
	cmd.Flags().StringVar(&f.aad, "aad", "", "associated data, as `text` (aes-256-gcm only)")
}

// errAlgRequired is cobra's message for a missing required flag: --alg
// is required unless the data is an envelope.
var errAlgRequired = errors.New(`required flag(s) "alg" not set`)

// operation parses --alg for encrypt and decrypt with a backend key (not
// HPKE) and refuses the flags that do not apply to it.
func (f *cryptFlags) operation(cmd *cobra.Command, hf *hpkeFlags) (backend.Operation, error) {
	if _, err := hf.check(cmd, f.alg); err != nil {
		return "", err
	}
	op, err := parseOp(f.alg, cryptOps...)
	if err != nil {
		return "", err
	}
	if err := f.check(cmd, op); err != nil {
		return "", err
	}
	return op, nil
}

// check refuses flags that do not apply to op.
func (f *cryptFlags) check(cmd *cobra.Command, op backend.Operation) error {
	isOAEP := op.Kind() == backend.OpDecrypt && op != backend.RSAPKCS1v15
	if cmd.Flags().Changed("label") && !isOAEP {
		return fmt.Errorf("--label (an OAEP label) does not apply to %s", op)
	}
	if cmd.Flags().Changed("aad") && op != backend.AES256GCM {
		return fmt.Errorf("--aad applies to %s only, not %s", backend.AES256GCM, op)
	}
	if cmd.Flags().Lookup("ttl") != nil && cmd.Flags().Changed("ttl") && op != backend.FernetToken {
		return fmt.Errorf("--ttl applies to %s only, not %s", backend.FernetToken, op)
	}
	return nil
}

var cryptOps = []backend.OpKind{backend.OpDecrypt, backend.OpAEAD, backend.OpFernet}

const cryptAlgorithmsHelp = `Algorithms:
  rsa-oaep-sha1|sha256|sha384|sha512  RSA-OAEP (MGF1 with the same hash); --label
                                      sets the OAEP label (text). Encryption
                                      uses the public key in-process.
  rsa-pkcs1v15                        RSA PKCS#1 v1.5 encryption (legacy).
  aes-256-gcm                         AES-256-GCM with an aes-256 key held by the
                                      backend; output is nonce (12 bytes) ‖
                                      ciphertext ‖ tag (16 bytes); --aad sets the
                                      associated data (text).
  fernet                              Fernet tokens (text, one line) with a
                                      fernet key; --ttl on decrypt.
` + hpkeAlgorithmsHelp

func newEncryptCmd(c *cli) *cobra.Command {
	var f cryptFlags
	var hf hpkeFlags
	cmd := &cobra.Command{
		Use:   "encrypt (--key K | --recipient FILE...) (--alg A | --envelope) [--in FILE] [--out FILE]",
		Short: "Encrypt a file",
		Long: `Encrypt a file (stdin without --in) to a key, writing the ciphertext
(to stdout without --out).

With --envelope, data of any size is streamed into a keyplane envelope: a
data key made for this file, wrapped under K (an aes-256 key: by the
backend's AES-GCM, or by AWS KMS GenerateDataKey; an RSA key: RSA-OAEP-
SHA256), and the data in Tink's streaming AEAD (AES256_GCM_HKDF_1MB), in
constant memory. "keyplane decrypt" recognizes envelopes and needs no --key
or --alg for them; "keyplane rewrap" moves one to the key's current version.
Progress goes to stderr for inputs of 64 MiB and more.

` + cryptAlgorithmsHelp,
		Example: `  keyplane encrypt --key backup --alg rsa-oaep-sha256 --in data-key.bin --out data-key.enc
  keyplane encrypt --key db --alg aes-256-gcm --aad "row 42" --in row.json --out row.enc
  echo -n secret | keyplane encrypt --key tokens --alg fernet
  keyplane encrypt --envelope --key archive --in big.tar --out big.tar.kp
  keyplane encrypt --alg hpke-x25519 --recipient alice.pub --info "inbox v1" --in letter.txt --out letter.hpke
  keyplane encrypt --alg hpke-xwing --recipient alice-x.pub --recipient alice-pq.pub --in letter.txt --out letter.hpke`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(hf.recipients) > 0 {
				if err := checkRecipientFlags(cmd, &f); err != nil {
					return err
				}
				return c.hpkeEncryptToFiles(cmd, &f, &hf)
			}
			if f.ref == "" {
				if isHPKE(f.alg) {
					return fmt.Errorf("%w (or --recipient FILE: a public-key file)", errKeyRequired)
				}
				return errKeyRequired
			}
			if f.envelope {
				for _, flag := range []string{"alg", "label", "aad", "version"} {
					if cmd.Flags().Changed(flag) {
						return fmt.Errorf("--%s does not apply to --envelope (the envelope's header says how it was made)", flag)
					}
				}
				ctx := cmd.Context()
				return c.withBackend(ctx, func(b backend.Backend) error {
					return c.encryptEnvelope(ctx, b, f.ref, f.in, f.out)
				})
			}
			if f.alg == "" {
				return errAlgRequired
			}
			if isHPKE(f.alg) {
				return c.hpkeEncrypt(cmd, &f, &hf)
			}
			op, err := f.operation(cmd, &hf)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			return c.withBackend(ctx, func(b backend.Backend) error {
				k, plaintext, err := f.keyAndInput(ctx, c, b, op)
				if err != nil {
					return err
				}
				var out []byte
				switch op.Kind() {
				case backend.OpDecrypt:
					out, err = rsaEncrypt(op, k, plaintext, []byte(f.oaepLabel))
				case backend.OpAEAD:
					var aead backend.AEAD
					aead, err = c.aeadFor(ctx, b, f.ref)
					if err == nil {
						out, err = aead.Seal(ctx, plaintext, []byte(f.aad))
					}
				case backend.OpFernet:
					out, err = c.fernetEncrypt(ctx, b, f.ref, plaintext)
				}
				if err != nil {
					return fmt.Errorf("encrypting with key %q (%s): %w", k.Label, op, err)
				}
				return c.writeOutput(f.out, out, permPublic)
			})
		},
	}
	f.add(c, cmd, "encrypt")
	cmd.Flags().BoolVar(&f.envelope, "envelope", false, "stream data of any size into a keyplane envelope under --key (no --alg)")
	hf.add(cmd)
	hf.addRecipient(cmd)
	key := cmd.Flags().Lookup("key")
	delete(key.Annotations, cobra.BashCompOneRequiredFlag) // not with --recipient
	key.Usage = "the key `K`: its label, \"id:<hex>\", or a backend key URI (required, except with --recipient)"
	return cmd
}

// rsaEncrypt encrypts to k's public key with the standard library.
func rsaEncrypt(op backend.Operation, k *backend.Key, plaintext, label []byte) ([]byte, error) {
	pub, err := publicKey(k)
	if err != nil {
		return nil, err
	}
	rsaPub, ok := pub.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("key %q has a %T public key, not RSA: %w", k.Label, pub, backend.ErrUnsupported)
	}
	var ct []byte
	maxLen := rsaPub.Size() - 11
	if op == backend.RSAPKCS1v15 {
		ct, err = rsa.EncryptPKCS1v15(rand.Reader, rsaPub, plaintext)
	} else {
		maxLen = rsaPub.Size() - 2*op.Hash().Size() - 2
		ct, err = rsa.EncryptOAEP(op.Hash().New(), rand.Reader, rsaPub, plaintext, label)
	}
	if errors.Is(err, rsa.ErrMessageTooLong) {
		return nil, fmt.Errorf("input of %d bytes is too long: %s with a %d-bit key takes at most %d bytes (encrypt a data key instead): %w",
			len(plaintext), op, rsaPub.N.BitLen(), maxLen, backend.ErrInvalidInput)
	}
	return ct, err
}

// aeadFor returns the backend's AEAD for ref, or says that the backend has
// none.
func (c *cli) aeadFor(ctx context.Context, b backend.Backend, ref string) (backend.AEAD, error) {
	ab, ok := b.(backend.AEADBackend)
	if !ok {
		return nil, fmt.Errorf("backend %s has no AES-GCM keys: %w", c.backendName(ctx, b), backend.ErrUnsupported)
	}
	aead, err := ab.AEAD(ctx, ref)
	if err != nil {
		return nil, keyError(ref, err)
	}
	return aead, nil
}

package plugins

import (
	"crypto"
	"fmt"
	"math"
	"time"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/pkcs8"
	pb "github.com/keyplane/keyplane/plugins/proto/keyplane/plugin/v1"
)

// hashToWire maps the hashes keyplane signs and decrypts with.
func hashToWire(h crypto.Hash) (pb.Hash, error) {
	switch h {
	case 0:
		return pb.Hash_HASH_UNSPECIFIED, nil
	case crypto.SHA1:
		return pb.Hash_HASH_SHA1, nil
	case crypto.SHA224:
		return pb.Hash_HASH_SHA224, nil
	case crypto.SHA256:
		return pb.Hash_HASH_SHA256, nil
	case crypto.SHA384:
		return pb.Hash_HASH_SHA384, nil
	case crypto.SHA512:
		return pb.Hash_HASH_SHA512, nil
	}
	return 0, fmt.Errorf("hash %v has no plugin protocol name: %w", h, backend.ErrUnsupported)
}

func hashFromWire(h pb.Hash) (crypto.Hash, error) {
	switch h {
	case pb.Hash_HASH_UNSPECIFIED:
		return 0, nil
	case pb.Hash_HASH_SHA1:
		return crypto.SHA1, nil
	case pb.Hash_HASH_SHA224:
		return crypto.SHA224, nil
	case pb.Hash_HASH_SHA256:
		return crypto.SHA256, nil
	case pb.Hash_HASH_SHA384:
		return crypto.SHA384, nil
	case pb.Hash_HASH_SHA512:
		return crypto.SHA512, nil
	}
	return 0, fmt.Errorf("unknown hash %d in plugin request: %w", int32(h), backend.ErrUnsupported)
}

func keyToWire(k *backend.Key) (*pb.Key, error) {
	if k == nil {
		return nil, fmt.Errorf("backend returned no key: %w", backend.ErrUnavailable)
	}
	if k.Version < 0 || k.Version > math.MaxInt32 {
		return nil, fmt.Errorf("key %q: version %d out of range: %w", k.Label, k.Version, backend.ErrInvalidInput)
	}
	w := &pb.Key{Id: k.ID, Label: k.Label, Algorithm: string(k.Algorithm), Uri: k.URI, Version: int32(k.Version)}
	if !k.Created.IsZero() {
		w.CreatedUnixNano = k.Created.UnixNano()
	}
	if k.Public != nil {
		der, err := pkcs8.MarshalPublicKey(k.Public)
		if err != nil {
			return nil, fmt.Errorf("key %q: encoding public key: %v: %w", k.Label, err, backend.ErrUnsupported)
		}
		w.PublicKey = der
	}
	return w, nil
}

func keyFromWire(w *pb.Key) (*backend.Key, error) {
	if w == nil {
		return nil, fmt.Errorf("plugin answered without a key: %w", backend.ErrUnavailable)
	}
	if w.GetVersion() < 0 {
		return nil, fmt.Errorf("plugin sent key %q with version %d: %w", w.GetLabel(), w.GetVersion(), backend.ErrInvalidInput)
	}
	k := &backend.Key{ID: w.GetId(), Label: w.GetLabel(), Algorithm: backend.Algorithm(w.GetAlgorithm()), URI: w.GetUri(), Version: int(w.GetVersion())}
	if w.GetCreatedUnixNano() != 0 {
		k.Created = time.Unix(0, w.GetCreatedUnixNano())
	}
	if len(w.GetPublicKey()) > 0 {
		pub, err := pkcs8.ParsePublicKey(w.GetPublicKey())
		if err != nil {
			return nil, fmt.Errorf("plugin sent key %q with a malformed public key: %v: %w", k.Label, err, backend.ErrInvalidInput)
		}
		k.Public = pub
	}
	return k, nil
}

// keysFromWire is keyFromWire for a list of keys (ListKeys, ListVersions).
func keysFromWire(ws []*pb.Key) ([]*backend.Key, error) {
	keys := make([]*backend.Key, 0, len(ws))
	for _, w := range ws {
		k, err := keyFromWire(w)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

func capsToWire(c *backend.Capabilities) *pb.Capabilities {
	w := &pb.Capabilities{
		Backend:                   c.Backend,
		Description:               c.Description,
		Import:                    c.Import,
		Export:                    c.Export,
		Persistent:                c.Persistent,
		Pkcs1V15ImplicitRejection: c.PKCS1v15ImplicitRejection,
		Certificates:              c.Certificates,
		Notes:                     c.Notes,
		Details:                   c.Details,
	}
	for _, a := range c.Algorithms {
		w.Algorithms = append(w.Algorithms, string(a))
	}
	for _, op := range c.Operations {
		w.Operations = append(w.Operations, string(op))
	}
	return w
}

func capsFromWire(w *pb.Capabilities) *backend.Capabilities {
	c := &backend.Capabilities{
		Backend:                   w.GetBackend(),
		Description:               w.GetDescription(),
		Import:                    w.GetImport(),
		Export:                    w.GetExport(),
		Persistent:                w.GetPersistent(),
		PKCS1v15ImplicitRejection: w.GetPkcs1V15ImplicitRejection(),
		Certificates:              w.GetCertificates(),
		Notes:                     w.GetNotes(),
		Details:                   w.GetDetails(),
	}
	for _, a := range w.GetAlgorithms() {
		c.Algorithms = append(c.Algorithms, backend.Algorithm(a))
	}
	for _, op := range w.GetOperations() {
		c.Operations = append(c.Operations, backend.Operation(op))
	}
	return c
}

// keyRefOf is the reference the host uses for a key after looking it up:
// its ID, so that a key deleted and made again under the same label is not
// silently used in its place.
func keyRefOf(k *backend.Key, fallback string) string {
	if len(k.ID) == 0 {
		return fallback
	}
	return backend.KeyRef{ID: k.ID}.String()
}

package plugins

import "sync"

// handleKind says what a cached handle is.
type handleKind uint8

const (
	handleSigner handleKind = iota + 1
	handleDecrypter
	handleAEAD
	handleFernet
	handleKeyExchanger
	handleDecapsulator
)

type handleKey struct {
	kind handleKind
	ref  string
}

// maxHandles bounds the plugin's handle cache; past it the cache starts
// again empty (the handles are found again on the next call).
const maxHandles = 4096

// handleCache keeps the crypto.Signer, crypto.Decrypter, AEAD and FernetKey
// values the plugin's backend handed out, by key reference, so that a Sign
// call does not look the key up again (no C_FindObjects per signature in a
// PKCS#11 plugin). DeleteKey clears it.
type handleCache struct {
	mu sync.RWMutex
	m  map[handleKey]any
}

func (c *handleCache) get(kind handleKind, ref string) (any, bool) {
	c.mu.RLock()
	v, ok := c.m[handleKey{kind, ref}]
	c.mu.RUnlock()
	return v, ok
}

func (c *handleCache) put(kind handleKind, ref string, v any) {
	c.mu.Lock()
	if len(c.m) >= maxHandles {
		clear(c.m)
	}
	c.m[handleKey{kind, ref}] = v
	c.mu.Unlock()
}

func (c *handleCache) clear() {
	c.mu.Lock()
	clear(c.m)
	c.mu.Unlock()
}

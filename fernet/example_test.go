package fernet_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/keyplane/keyplane/fernet"
)

// A Fernet key held in memory: make a token and read it back. With a key in
// a backend, replace NewSoftwareKey by the backend's Fernet method
// (backend.FernetBackend).
func Example() {
	ctx := context.Background()
	key, err := fernet.GenerateKey() // or fernet.ParseKey(text) with pyca's key text
	if err != nil {
		log.Fatal(err)
	}
	fk, err := fernet.NewSoftwareKey(key)
	if err != nil {
		log.Fatal(err)
	}
	f := fernet.New(fk)

	token, err := f.Encrypt(ctx, []byte("A really secret message. Not for prying eyes."))
	if err != nil {
		log.Fatal(err)
	}
	msg, err := f.Decrypt(ctx, token, time.Hour) // at most an hour old
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", msg)
	fmt.Println(token[0] == 'g', len(token)) // every token starts with "gAAAAA"

	// Any change to the token, or another key, gives the one vague error.
	token[len(token)/2] ^= 1
	_, err = f.Decrypt(ctx, token, 0)
	fmt.Println(errors.Is(err, fernet.ErrInvalidToken))
	// Output:
	// A really secret message. Not for prying eyes.
	// true 140
	// true
}

// Key rotation: decrypt with any key, encrypt with the first, and move old
// tokens to the new key with Rotate.
func ExampleMultiFernet_Rotate() {
	ctx := context.Background()
	newFernet := func() *fernet.Fernet {
		k, err := fernet.GenerateKey()
		if err != nil {
			log.Fatal(err)
		}
		fk, err := fernet.NewSoftwareKey(k)
		if err != nil {
			log.Fatal(err)
		}
		return fernet.New(fk)
	}
	oldKey, newKey := newFernet(), newFernet()
	token, err := oldKey.Encrypt(ctx, []byte("Secret message!"))
	if err != nil {
		log.Fatal(err)
	}
	m, err := fernet.NewMulti(newKey, oldKey)
	if err != nil {
		log.Fatal(err)
	}
	rotated, err := m.Rotate(ctx, token)
	if err != nil {
		log.Fatal(err)
	}
	msg, err := newKey.Decrypt(ctx, rotated, 0)
	fmt.Printf("%s %v\n", msg, err)
	// Output: Secret message! <nil>
}

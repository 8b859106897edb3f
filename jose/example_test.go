package jose_test

import (
	"context"
	"fmt"
	"log"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/jose"
)

// Sign a JWT with a backend key and check it. The backend here is a
// software keystore in memory; for an issuer key in an HSM only the URI
// changes (and the pkcs11 backend is imported):
//
//	pkcs11:token=issuer?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/secrets/pin
func Example() {
	ctx := context.Background()
	b, err := backend.Open(ctx, "software:memory") // or a pkcs11: URI
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	if _, err := b.GenerateKey(ctx, backend.KeySpec{Label: "issuer", Algorithm: backend.ECP256}); err != nil {
		log.Fatal(err)
	}
	s, err := b.Signer(ctx, "issuer")
	if err != nil {
		log.Fatal(err)
	}

	token, err := jose.Sign(s, []byte(`{"sub":"alice"}`), jose.SignOptions{KeyID: "issuer-1", Type: "JWT"})
	if err != nil {
		log.Fatal(err)
	}

	payload, header, err := jose.Verify(token, s.Public(), jose.ES256)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(header.Alg, header.Kid, string(payload))
	_, _, err = jose.Verify(token, s.Public(), jose.RS256)
	fmt.Println(err != nil)
	// Output:
	// ES256 issuer-1 {"sub":"alice"}
	// true
}

package pkcs11_test

import (
	"fmt"

	"github.com/keyplane/keyplane/backends/pkcs11"
)

func ExampleParseURI() {
	u, err := pkcs11.ParseURI("pkcs11:token=My%20Token;slot-id=0;object=release;type=private?module-name=softhsm2&pin-value=1234&max-sessions=8")
	if err != nil {
		panic(err)
	}
	fmt.Println(u.Token, *u.SlotID, u.Object, u.Type, u.ModuleName, u.MaxSessions, u.HasPIN())
	fmt.Println(u) // the PIN is never shown
	// Output:
	// My Token 0 release private softhsm2 8 true
	// pkcs11:token=My%20Token;slot-id=0;object=release;type=private?module-name=softhsm2&max-sessions=8
}

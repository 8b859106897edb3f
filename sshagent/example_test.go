package sshagent_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/sshagent"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// Serve a backend's keys on a socket that ssh (SSH_AUTH_SOCK or
// -o IdentityAgent=) uses; here a Go agent client lists and signs. The
// backend here is a software keystore in memory; for keys in a token only
// the URI changes (and the pkcs11 backend is imported):
//
//	pkcs11:token=ssh?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/secrets/pin
func Example() {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	b, err := backend.Open(ctx, "software:memory") // or a pkcs11: URI
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	if _, err := b.GenerateKey(ctx, backend.KeySpec{Label: "deploy", Algorithm: backend.Ed25519}); err != nil {
		log.Fatal(err)
	}

	a, err := sshagent.New(b)
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "agent") // 0700
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "agent.sock")
	l, err := sshagent.Listen(sock)
	if err != nil {
		log.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- sshagent.Serve(ctx, l, a) }()

	// What ssh does with SSH_AUTH_SOCK=sock:
	conn, err := net.Dial("unix", sock)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	client := agent.NewClient(conn)
	keys, err := client.List()
	if err != nil {
		log.Fatal(err)
	}
	for _, k := range keys {
		fmt.Println(k.Format, k.Comment)
	}
	sig, err := client.Sign(keys[0], []byte("session id"))
	if err != nil {
		log.Fatal(err)
	}
	pub, _ := ssh.ParsePublicKey(keys[0].Blob)
	fmt.Println("signature verifies:", pub.Verify([]byte("session id"), sig) == nil)

	stop() // SIGINT in keyplane ssh-agent
	if err := <-served; err != nil {
		log.Fatal(err)
	}
	// Output:
	// ssh-ed25519 deploy
	// signature verifies: true
}

// Package sshagent serves a backend's keys over the SSH agent protocol
// (draft-ietf-sshm-ssh-agent), so that ssh, scp, git and ssh-keygen -Y sign
// use keys held in a PKCS#11 token, a software keystore or a plugin without
// the private key ever reaching them.
//
// [New] returns an [Agent] (a golang.org/x/crypto/ssh/agent.ExtendedAgent)
// that lists the backend's RSA, ECDSA (P-256, P-384, P-521) and Ed25519
// keys and signs with them; [Listen] makes a private Unix socket and
// [Serve] answers agent requests on it until its context ends.
//
//	l, _ := sshagent.Listen(filepath.Join(dir, "agent.sock"))
//	a, _ := sshagent.New(b)
//	err := sshagent.Serve(ctx, l, a) // SSH_AUTH_SOCK=<dir>/agent.sock
//
// RSA signatures follow the request's flags: rsa-sha2-512 or rsa-sha2-256
// when the client asks (every OpenSSH since 7.2 does), ssh-rsa (SHA-1)
// otherwise. The comment of each key is its label.
//
// # Security
//
// The agent is a view of the backend: adding keys, removing keys, locking
// and unlocking are refused with [ErrReadOnly] (ssh-add, ssh-add -d, -D
// and -x fail), so nothing reaches the backend through the socket but
// signature requests. Whoever can connect to the socket can sign with every
// key it lists, as with any SSH agent: [Listen] creates the socket with
// mode 0600, and the CLI puts it in a fresh 0700 directory. Limit the keys
// with [WithKeys] to serve only some of a backend's keys.
//
// # Concurrency
//
// An Agent is safe for concurrent use; Serve answers each connection in its
// own goroutine. Signing concurrency is the backend's (a PKCS#11 session
// pool, for instance).
//
// # Limitations
//
// Keys are listed from the backend on every request (list or sign), so a
// key generated while the agent runs appears at the next ssh-add -L and a
// deleted one is no longer used (a signer kept from before would still
// sign with a software key). There
// are no certificates (ssh-keygen -s) and no key constraints (lifetime,
// confirm); agent extensions (session-bind@openssh.com) are answered as
// unsupported, which OpenSSH clients accept. The agent protocol carries no
// context or deadline: each request runs under context.Background and the
// backend's own deadlines. golang.org/x/crypto/ssh/agent writes each
// refused or failed request to the standard library's log ("agent 17:
// sshagent: ... cannot add ..."); the messages hold no secrets.
package sshagent

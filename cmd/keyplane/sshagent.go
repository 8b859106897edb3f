package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/sshagent"
	"github.com/spf13/cobra"
)

func newSSHAgentCmd(c *cli) *cobra.Command {
	var socket string
	var refs []string
	cmd := &cobra.Command{
		Use:   "ssh-agent [--socket PATH] [--key K]...",
		Short: "Serve the backend's keys to ssh over the SSH agent protocol",
		Long: `Serve the backend's keys (RSA, ECDSA P-256/P-384/P-521, Ed25519) to ssh,
scp, git and ssh-keygen -Y sign over the SSH agent protocol, until
interrupted (SIGINT or SIGTERM); then the socket is removed.

It prints the socket as a shell assignment (SSH_AUTH_SOCK=...; export
SSH_AUTH_SOCK;) on stdout. Without --socket, the socket is agent.sock in a
fresh 0700 directory under $TMPDIR; with --socket, PATH must not exist and
its directory should be private. The socket's mode is 0600.

The agent only lists and signs: adding, removing, locking and unlocking keys
(ssh-add, ssh-add -d/-D/-x) are refused. RSA keys sign with rsa-sha2-256 or
rsa-sha2-512 as the client asks. --key (repeatable) serves only those keys.
Put a key's public half in authorized_keys with "keyplane pubkey --format ssh".`,
		Example: `  keyplane --backend 'pkcs11:token=ssh?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:pin' \
      ssh-agent --socket ~/.ssh/keyplane/agent.sock &
  SSH_AUTH_SOCK=~/.ssh/keyplane/agent.sock ssh-add -L
  keyplane pubkey --key login --format ssh | ssh host 'cat >> ~/.ssh/authorized_keys'
  ssh -o IdentityAgent=~/.ssh/keyplane/agent.sock host`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			return c.withBackend(ctx, func(b backend.Backend) error {
				var opts []sshagent.Option
				if len(refs) > 0 {
					opts = append(opts, sshagent.WithKeys(refs...))
				}
				a, err := sshagent.New(b, opts...)
				if err != nil {
					return err
				}
				keys, err := a.List()
				if err != nil {
					return err
				}
				path := socket
				if path == "" {
					dir, err := os.MkdirTemp("", "keyplane-ssh-")
					if err != nil {
						return fmt.Errorf("making the socket directory: %w", err)
					}
					defer os.RemoveAll(dir)
					path = filepath.Join(dir, "agent.sock")
				}
				l, err := sshagent.Listen(path)
				if err != nil {
					return err
				}
				if _, err := fmt.Fprintf(c.stdout, "SSH_AUTH_SOCK=%s; export SSH_AUTH_SOCK;\n", shellQuote(path)); err != nil {
					l.Close()
					return err
				}
				fmt.Fprintf(c.stderr, "%sserving %d keys on %s until interrupted\n", errorPrefix, len(keys), path)
				return sshagent.Serve(ctx, l, a)
			})
		},
	}
	cmd.Flags().StringVar(&socket, "socket", "", "create the agent's socket at `PATH` (default: a fresh private directory)")
	cmd.Flags().StringArrayVar(&refs, "key", nil, "serve only key `K` (repeatable; default: every SSH-capable key)")
	return cmd
}

// shellQuote quotes s for a POSIX shell when it holds anything but
// unreserved characters.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./+=:@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

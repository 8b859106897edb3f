package main

import "github.com/keyplane/keyplane/internal/secretfile"

// passphrase returns the passphrase from the file named by --passphrase-file
// (flagValue), else from the environment variable envName, else nil. A
// single trailing newline ("\n" or "\r\n") in the file is dropped, so that
// "echo secret > file" works. A passphrase is never taken from the command
// line, where other users could read it, and never appears in a message.
func (c *cli) passphrase(flagValue, envName string) ([]byte, error) {
	pass, _, err := c.passphraseFrom(flagValue, envName)
	return pass, err
}

// passphraseFrom is passphrase, and also says where the passphrase came
// from ("--passphrase-file FILE" or the variable's name), for messages.
func (c *cli) passphraseFrom(flagValue, envName string) (pass []byte, from string, err error) {
	if flagValue != "" {
		pass, err = c.passphraseFile(flagValue)
		return pass, "--passphrase-file " + flagValue, err
	}
	if v := c.getenv(envName); v != "" {
		return []byte(v), envName, nil
	}
	return nil, "", nil
}

// passphraseFile reads the file named by --passphrase-file, by
// internal/secretfile's rule (docs/security.md).
func (c *cli) passphraseFile(path string) ([]byte, error) {
	return secretfile.Read("--passphrase-file", path)
}

package main

import (
	"bytes"
	"fmt"
	"os"
)

// passphrase returns the passphrase from the file named by --passphrase-file
// (flagValue), else from the environment variable envName, else nil. A
// single trailing newline ("\n" or "\r\n") in the file is dropped, so that
// "echo secret > file" works. A passphrase is never taken from the command
// line, where other users could read it, and never appears in a message.
func (c *cli) passphrase(flagValue, envName string) ([]byte, error) {
	if flagValue != "" {
		data, err := os.ReadFile(flagValue)
		if err != nil {
			return nil, fmt.Errorf("--passphrase-file: %w", pathError(err))
		}
		data = bytes.TrimSuffix(data, []byte("\n"))
		data = bytes.TrimSuffix(data, []byte("\r"))
		if len(data) == 0 {
			return nil, fmt.Errorf("--passphrase-file %s is empty", flagValue)
		}
		return data, nil
	}
	if v := c.getenv(envName); v != "" {
		return []byte(v), nil
	}
	return nil, nil
}

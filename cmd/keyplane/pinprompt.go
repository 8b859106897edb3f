package main

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/term"
)

// errNoTerminal: pin-source=prompt needs a terminal to ask on.
var errNoTerminal = errors.New("pin-source=prompt needs a terminal to ask for the PIN on (/dev/tty could not be opened); in scripts use pin-source=file:<path>")

// maxPromptedSecret bounds what the prompt reads.
const maxPromptedSecret = 1024

// promptSecret asks for a secret (what: "PIN for token \"signing\"") on
// the controlling terminal, /dev/tty, with echo off (golang.org/x/term),
// so the secret is never on the screen, in the shell's history, in argv
// or in the environment; standard input stays free for data. The prompt
// goes to the terminal too. The caller zeroes the result.
func (c *cli) promptSecret(what string) ([]byte, error) {
	tty, err := c.openTTY()
	if err != nil {
		return nil, errNoTerminal
	}
	defer tty.Close()
	fd := int(tty.Fd())
	if !term.IsTerminal(fd) {
		return nil, errNoTerminal
	}
	fmt.Fprintf(tty, "%s: ", what)
	pin, err := readNoEcho(fd)
	fmt.Fprint(tty, "\n") // the user's Enter was not echoed either
	if err != nil {
		return nil, fmt.Errorf("reading the PIN from the terminal: %w", err)
	}
	if len(pin) == 0 {
		return nil, errors.New("no PIN entered")
	}
	return pin, nil
}

// readNoEcho reads one line from the terminal fd with echo off
// (term.ReadPassword, which restores the terminal's state when it
// returns), bounded in length. ReadPassword grows its line by append, so
// earlier, smaller copies of a long PIN may stay in freed memory until it
// is reused: a limit of this prompt (docs/security.md).
func readNoEcho(fd int) ([]byte, error) {
	line, err := term.ReadPassword(fd)
	if err != nil {
		clear(line)
		return nil, err
	}
	if len(line) > maxPromptedSecret {
		clear(line)
		return nil, fmt.Errorf("the PIN is longer than %d bytes", maxPromptedSecret)
	}
	return line, nil
}

// openTTY opens the controlling terminal.
func (c *cli) openTTY() (*os.File, error) { return os.OpenFile("/dev/tty", os.O_RDWR, 0) }

//go:build !unix

package main

import "io/fs"

// oNoFollow: no such open flag here; symbolic links are refused by the
// Lstat check before any open.
const oNoFollow = 0

// ownedByMe: file ownership is not checked on this system.
func ownedByMe(fs.FileInfo) bool { return true }

// linkUnsupported: fall back to an exclusive create on any link failure.
func linkUnsupported(error) bool { return true }

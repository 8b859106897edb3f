// Package nss holds only tests: the conformance suite on NSS softokn
// (libsoftokn3.so), opened directly with module-init-args.
//
// It is its own package so that it runs in its own test binary: a module
// is initialized once per process with one set of init args, and softokn
// then holds its database for the life of the process. Keeping it apart
// from backends/pkcs11's tests (which share one SoftHSM2 configuration)
// means neither token's set-up can leak into the other's run.
package nss

package plugins

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/keyplane/keyplane/backend"
)

// ErrorDomain is the google.rpc.ErrorInfo domain of keyplane plugin errors.
const ErrorDomain = "keyplane.plugin.v1"

// sentinelWire is how each sentinel crosses the process boundary: a gRPC
// code (for peers that only look at codes) and an ErrorInfo reason (which
// names the sentinel exactly).
var sentinelWire = []struct {
	err    error
	code   codes.Code
	reason string
}{
	{backend.ErrNotFound, codes.NotFound, "keyplane.ErrNotFound"},
	{backend.ErrAlreadyExists, codes.AlreadyExists, "keyplane.ErrAlreadyExists"},
	{backend.ErrUnsupported, codes.Unimplemented, "keyplane.ErrUnsupported"},
	{backend.ErrInvalidInput, codes.InvalidArgument, "keyplane.ErrInvalidInput"},
	{backend.ErrDecryption, codes.InvalidArgument, "keyplane.ErrDecryption"},
	{backend.ErrAuthentication, codes.Unauthenticated, "keyplane.ErrAuthentication"},
	{backend.ErrUnavailable, codes.Unavailable, "keyplane.ErrUnavailable"},
	{backend.ErrClosed, codes.FailedPrecondition, "keyplane.ErrClosed"},
	{backend.ErrKeyRetired, codes.FailedPrecondition, "keyplane.ErrKeyRetired"},
}

// toStatus turns an error of the plugin's backend into the gRPC status sent
// to the host. The message is the error's text, except for ErrDecryption,
// which is always sent as the bare sentinel text so that no padding detail
// can leave the plugin.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	kind := backend.Kind(err)
	if kind == nil {
		switch {
		case errors.Is(err, context.Canceled):
			return status.Error(codes.Canceled, err.Error())
		case errors.Is(err, context.DeadlineExceeded):
			return status.Error(codes.DeadlineExceeded, err.Error())
		}
		return status.Error(codes.Unknown, err.Error())
	}
	for _, w := range sentinelWire {
		if w.err != kind {
			continue
		}
		msg := err.Error()
		if kind == backend.ErrDecryption {
			msg = backend.ErrDecryption.Error()
		}
		st := status.New(w.code, msg)
		if d, derr := st.WithDetails(&errdetails.ErrorInfo{Domain: ErrorDomain, Reason: w.reason}); derr == nil {
			st = d
		}
		return st.Err()
	}
	return status.Error(codes.Unknown, err.Error())
}

// RemoteError is an error returned by a plugin's backend, as the host sees
// it: the plugin's message, and the keyplane sentinel it wrapped (nil when
// it wrapped none), so that errors.Is(err, backend.ErrNotFound) works on the
// host as it does in the plugin.
type RemoteError struct {
	// Plugin names the plugin: "plugin+software", or "plugin:" and the
	// executable's base name.
	Plugin string
	// Message is the plugin backend's error text.
	Message string
	// Kind is the sentinel error the plugin's error wrapped, or nil.
	Kind error
	// Code is the gRPC status code the error arrived with.
	Code codes.Code
}

func (e *RemoteError) Error() string {
	return e.Plugin + ": " + e.Message
}

// Unwrap returns the sentinel.
func (e *RemoteError) Unwrap() error { return e.Kind }

// fromStatus turns an error from a gRPC call into a keyplane error.
// transport reports whether the error came from the channel itself (the
// child died or cannot be reached), not from the plugin's backend.
func fromStatus(name string, err error) (out error, transport bool) {
	st, ok := status.FromError(err)
	if !ok {
		switch {
		case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
			return fmt.Errorf("%s: %w", name, err), false
		}
		return fmt.Errorf("%s: %v: %w", name, err, backend.ErrUnavailable), true
	}
	for _, d := range st.Details() {
		info, ok := d.(*errdetails.ErrorInfo)
		if !ok || info.GetDomain() != ErrorDomain {
			continue
		}
		for _, w := range sentinelWire {
			if w.reason == info.GetReason() {
				msg := st.Message()
				if w.err == backend.ErrDecryption {
					msg = backend.ErrDecryption.Error()
				}
				return &RemoteError{Plugin: name, Message: msg, Kind: w.err, Code: st.Code()}, false
			}
		}
	}
	// No keyplane detail: the status came from gRPC itself, or from a peer
	// that only sets codes.
	switch st.Code() {
	case codes.Unavailable:
		return fmt.Errorf("%s: connection lost: %s: %w", name, st.Message(), backend.ErrUnavailable), true
	case codes.Canceled:
		return fmt.Errorf("%s: %s: %w", name, st.Message(), context.Canceled), false
	case codes.DeadlineExceeded:
		// The plugin did not answer in time: a hung token looks like this.
		return fmt.Errorf("%s: %s: %w (%w)", name, st.Message(), context.DeadlineExceeded, backend.ErrUnavailable), false
	case codes.Unimplemented:
		return &RemoteError{Plugin: name, Message: st.Message(), Kind: backend.ErrUnsupported, Code: st.Code()}, false
	case codes.ResourceExhausted:
		// A message over the size limit (maxMessage).
		return &RemoteError{Plugin: name, Message: st.Message(), Kind: backend.ErrInvalidInput, Code: st.Code()}, false
	}
	for _, w := range sentinelWire {
		if w.code == st.Code() && w.err != backend.ErrDecryption {
			return &RemoteError{Plugin: name, Message: st.Message(), Kind: w.err, Code: st.Code()}, false
		}
	}
	return &RemoteError{Plugin: name, Message: st.Message(), Code: st.Code()}, false
}

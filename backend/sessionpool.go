package backend

// SessionPoolStats is a snapshot of a backend's pool of token sessions
// (PKCS#11 sessions, say), for monitoring.
type SessionPoolStats struct {
	Max     int // the most sessions open at once
	Open    int // sessions open now, idle and in use
	Idle    int // open sessions not in use
	Waiting int // callers waiting for a session because all Max are in use
}

// SessionPoolReporter is an optional interface: backends that keep a pool
// of sessions report its state, which package observe turns into gauges.
// SessionPoolStats must return at once, without calling into the token.
type SessionPoolReporter interface {
	SessionPoolStats() SessionPoolStats
}

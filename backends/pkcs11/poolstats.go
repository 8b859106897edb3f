package pkcs11

// PoolStats is a snapshot of a SessionPool.
type PoolStats struct {
	Max     int    // the most sessions open at once
	Open    int    // sessions open now
	Idle    int    // open sessions not in use
	Opened  uint64 // sessions opened since the pool was made
	Waiting int    // operations waiting for a session because all Max are in use
}

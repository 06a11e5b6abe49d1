//go:build !linux

package memstore_test

import "time"

// threadClock falls back to the wall clock where thread CPU time is not
// available.
type threadClock struct{}

func (threadClock) lock()   {}
func (threadClock) unlock() {}

func (threadClock) now() time.Duration { return time.Duration(time.Now().UnixNano()) }

package memstore_test

import (
	"runtime"
	"syscall"
	"time"
	"unsafe"
)

// threadClock measures the CPU time of the calling OS thread, so that
// benchmark ratios are not distorted by other processes on a busy machine.
// Callers lock the goroutine to its thread while they measure.
type threadClock struct{}

const clockThreadCPUTime = 3 // CLOCK_THREAD_CPUTIME_ID

func (threadClock) lock()   { runtime.LockOSThread() }
func (threadClock) unlock() { runtime.UnlockOSThread() }

func (threadClock) now() time.Duration {
	var ts syscall.Timespec
	_, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0)
	if errno != 0 {
		return time.Duration(time.Now().UnixNano())
	}
	return time.Duration(ts.Nano())
}

package logout

import (
	"syscall"
	"time"
	"unsafe"
)

const clockProcessCPUTime = 2 // CLOCK_PROCESS_CPUTIME_ID

// processCPU returns the CPU time all threads of the process have used,
// to the nanosecond: the handler's work and the runtime's (garbage
// collection included), but not other processes' on a busy machine.
func processCPU() time.Duration {
	var ts syscall.Timespec
	_, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockProcessCPUTime, uintptr(unsafe.Pointer(&ts)), 0)
	if errno != 0 {
		return 0
	}
	return time.Duration(ts.Nano())
}

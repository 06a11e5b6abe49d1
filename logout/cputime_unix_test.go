//go:build unix

package logout

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user and system) the process has used:
// the handler's work and the runtime's (garbage collection included), but
// not other processes' on a busy machine.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

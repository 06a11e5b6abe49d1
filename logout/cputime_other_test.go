//go:build !unix

package logout

import "time"

// processCPU is not available here; BenchmarkMassLogout then reports only
// wall-clock times.
func processCPU() time.Duration { return 0 }

// Package memlimit gives the Go runtime a soft memory limit below the container's memory limit,
// so that a program near its limit collects garbage harder instead of being OOM-killed: the
// evictor and the scheduler keep a copy of every pod, and after a burst of allocation (the first
// plan, a relist) the heap may grow to twice what is live before the collector runs.
//
// The limit is read from the cgroup (v2 memory.max, else v1 memory.limit_in_bytes). Nothing is
// changed when GOMEMLIMIT is set (the user's choice wins) or when the cgroup sets no limit.
package memlimit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
)

// Ratio is the share of the container's limit given to the Go runtime; the rest is for what the
// runtime does not count (goroutine stacks are counted, but not the binary's text or cgo).
const Ratio = 0.9

// noLimit: cgroup v1 reports "no limit" as a number near the largest int64, rounded to a page.
const noLimit = int64(1) << 62

// Set sets the runtime's soft memory limit to Ratio of the cgroup's memory limit found under
// root ("/sys/fs/cgroup" in a container) and returns it; 0 when nothing was set.
func Set(root string) (int64, error) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return 0, nil
	}
	limit, err := cgroupLimit(root)
	if err != nil || limit <= 0 {
		return 0, err
	}
	soft := int64(float64(limit) * Ratio)
	debug.SetMemoryLimit(soft)
	return soft, nil
}

// cgroupLimit is the memory limit in bytes, or 0 when there is none.
func cgroupLimit(root string) (int64, error) {
	for _, f := range []string{"memory.max", "memory/memory.limit_in_bytes"} {
		raw, err := os.ReadFile(filepath.Join(root, f))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, err
		}
		v := strings.TrimSpace(string(raw))
		if v == "max" {
			return 0, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("reading the memory limit in %s: %w", f, err)
		}
		if n >= noLimit {
			return 0, nil
		}
		return n, nil
	}
	return 0, nil
}

// EvictorGCPercent is the evictor's garbage-collection target when GOGC is not set: the heap may
// grow 50% past what is live before a collection, not 100%. The evictor is idle between cycles
// and a cycle's garbage (a usage read, a plan, a fresh check) is as large as what it keeps, so
// the default let its peak heap reach twice the live heap (docs/scale.md: 231 MiB in use for
// 118 MiB live at 30,000 pods); the collections this adds cost little of a cycle.
const EvictorGCPercent = 50

// SetGCPercent sets the runtime's garbage-collection target to percent and returns true, unless
// GOGC is set (the user's choice wins).
func SetGCPercent(percent int) bool {
	if os.Getenv("GOGC") != "" {
		return false
	}
	debug.SetGCPercent(percent)
	return true
}

package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// clockTick is the unit of the CPU times in /proc/<pid>/stat (USER_HZ,
// 100 on every Linux architecture the sidecar is built for).
const clockTick = 10 * time.Millisecond

// procCPU returns the user plus system CPU time that process pid has used
// so far, from /proc/<pid>/stat, and its command name.
func procCPU(pid int) (time.Duration, string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, "", err
	}
	return parseStat(b)
}

// parseStat reads the command name and utime+stime of a /proc/<pid>/stat
// line: "pid (comm) state ppid ...", utime and stime being the 14th and
// 15th fields. comm may hold spaces and parentheses; it ends at the last ')'.
func parseStat(b []byte) (time.Duration, string, error) {
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return 0, "", fmt.Errorf("stat: no command name in %q", b)
	}
	comm := string(b[open+1 : end])
	f := bytes.Fields(b[end+1:]) // f[0] is the state, the 3rd field
	if len(f) < 13 {
		return 0, "", fmt.Errorf("stat: %d fields after the command name, want at least 13", len(f))
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(string(s), 10, 64)
		if err != nil {
			return 0, "", fmt.Errorf("stat: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * clockTick, comm, nil
}

// commCPU returns the CPU time used so far by every process named comm
// (PostgreSQL's server and its backends: "postgres"). Processes that end
// between the two readings of a phase take their time with them, so a
// phase's figure counts only those alive at both ends; PostgreSQL keeps one
// backend per connection, and the sidecar keeps its connections open.
func commCPU(comm string) time.Duration {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var total time.Duration
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		cpu, c, err := procCPU(pid)
		if err == nil && c == comm {
			total += cpu
		}
	}
	return total
}

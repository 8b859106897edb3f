package plugins

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// procStat reads /proc/<pid>/stat (Linux) and returns the process's command
// name and the fields after it: state, ppid, ... (utime and stime are
// fields[11] and fields[12], in clock ticks). The name may hold spaces and
// parentheses; it ends at the last ')'.
func procStat(pid int) (comm string, fields []string, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", nil, err
	}
	s := string(b)
	open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || close < open {
		return "", nil, fmt.Errorf("/proc/%d/stat: no (comm): %q", pid, s)
	}
	return s[open+1 : close], strings.Fields(s[close+1:]), nil
}

// ProcStat is procStat for the external tests (package plugins_test).
var ProcStat = procStat

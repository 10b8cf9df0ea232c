//go:build unix && !linux

package supervisor

import (
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// sysProcAttr puts the child in its own process group so signals reach its
// helpers too. Only Linux can make the kernel kill children when the
// supervisor dies; elsewhere `lakectl stack down` (or the process group kill
// on a normal exit) is what stops them.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// treeRSS asks ps for the RSS of each pid and its descendants (no /proc on macOS).
func treeRSS(pids []int) map[int]int64 {
	out, err := exec.Command("ps", "-A", "-o", "pid=,ppid=,rss=").Output()
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	rss := map[int]int64{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		p, _ := strconv.Atoi(f[0])
		pp, _ := strconv.Atoi(f[1])
		kb, _ := strconv.ParseInt(f[2], 10, 64)
		children[pp] = append(children[pp], p)
		rss[p] = kb * 1024
	}
	return sumTrees(pids, children, func(p int) int64 { return rss[p] })
}

// vmRSS is the RSS of pid alone, in bytes.
func vmRSS(pid int) int64 {
	out, err := exec.Command("ps", "-o", "rss=", "-p", strconv.Itoa(pid)).Output()
	if err != nil {
		return 0
	}
	kb, _ := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	return kb * 1024
}

package supervisor

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// sysProcAttr puts the child in its own process group, so a signal reaches
// the helpers it forks too (a JVM launched by a wrapper), and asks the kernel
// to SIGKILL it when the supervisor dies, even by SIGKILL. Pdeathsig follows
// the OS thread that forked; Go retires threads only when a goroutine locked
// to one exits, which the supervisor never does.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// treeRSS sums, for each pid, VmRSS of it and all its descendants, in bytes.
// A wrapper such as `lakectl kafka run` is small; the JVM it starts is what
// matters. One scan of /proc serves all pids.
func treeRSS(pids []int) map[int]int64 {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pp := ppid(p); pp > 0 {
			children[pp] = append(children[pp], p)
		}
	}
	return sumTrees(pids, children, vmRSS)
}

// ppid reads field 4 of /proc/<pid>/stat; the command name in field 2 may
// hold spaces and parentheses, so parse after the last ')'.
func ppid(pid int) int {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(string(f[1]))
	return n
}

func vmRSS(pid int) int64 {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			f := bytes.Fields(rest)
			if len(f) >= 1 {
				kb, _ := strconv.ParseInt(string(f[0]), 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}

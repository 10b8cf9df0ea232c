package kafkalocal

import "syscall"

// sysProcAttr makes the kernel SIGKILL the JVM when the Go process that
// started it dies, so a crashed or killed test never leaves a broker behind.
// Pdeathsig follows the OS thread that forked, not the process: children are
// started on a locked thread that lives as long as they do (see launch and
// runOnOwnThread).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

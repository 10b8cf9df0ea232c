package kafkalocal

import "syscall"

// sysProcAttr makes the kernel SIGKILL the JVM when the Go process that
// started it dies, so a crashed or killed test never leaves a broker behind.
// (Pdeathsig follows the starting OS thread; Go only retires threads that a
// goroutine locked and abandoned, which Start never does.)
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

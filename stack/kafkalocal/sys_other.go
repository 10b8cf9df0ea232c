//go:build !linux

package kafkalocal

import "syscall"

// sysProcAttr: only Linux can tie the child's life to the parent's; on macOS a
// broker outlives a parent that is SIGKILLed, so Stop it (tests do, via
// t.Cleanup) or kill the pid printed in the log.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }

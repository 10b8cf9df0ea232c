package stack

import (
	"os"
	"syscall"
)

// inode identifies a file across renames, 0 when it does not exist.
func inode(path string) uint64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return uint64(s.Ino)
	}
	return 0
}

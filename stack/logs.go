package stack

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/finlake/finlake/contract"
)

// LogNames lists the processes (and "supervisor") that have a log under
// <data>/logs, sorted.
func LogNames(dataDir string) ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(contract.DataDir{Root: dataDir}.Logs(), "*.log"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, m := range matches {
		names = append(names, strings.TrimSuffix(filepath.Base(m), ".log"))
	}
	sort.Strings(names)
	return names, nil
}

// LogPath is the log file of one process (the supervisor names them so).
func LogPath(dataDir, name string) string {
	return filepath.Join(contract.DataDir{Root: dataDir}.Logs(), name+".log")
}

// PrintLogs writes the last n lines of each named log to w (all of it when
// n <= 0), then, with follow, keeps printing new lines until ctx ends. With
// more than one log, each line is prefixed by its process name.
func PrintLogs(ctx context.Context, w io.Writer, dataDir string, names []string, n int, follow bool) error {
	type tailer struct {
		name   string
		path   string
		offset int64
		ino    uint64
		rest   []byte
	}
	prefix := len(names) > 1
	width := 0
	for _, name := range names {
		width = max(width, len(name))
	}
	emit := func(name string, line []byte) {
		if prefix {
			fmt.Fprintf(w, "%-*s | %s\n", width, name, line)
		} else {
			fmt.Fprintf(w, "%s\n", line)
		}
	}
	var ts []*tailer
	for _, name := range names {
		t := &tailer{name: name, path: LogPath(dataDir, name)}
		b, size, err := readTail(t.path, n)
		if err != nil {
			return err
		}
		t.offset = size
		t.ino = inode(t.path)
		lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
		if len(b) == 0 {
			lines = nil
		}
		if n > 0 && len(lines) > n {
			lines = lines[len(lines)-n:]
		}
		for _, l := range lines {
			emit(name, l)
		}
		ts = append(ts, t)
	}
	if !follow {
		return nil
	}
	buf := make([]byte, 64<<10)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(250 * time.Millisecond):
		}
		for _, t := range ts {
			// The supervisor rotates a log by renaming it; start the new file
			// from its beginning.
			if ino := inode(t.path); ino != t.ino {
				t.ino, t.offset, t.rest = ino, 0, nil
			}
			f, err := os.Open(t.path)
			if err != nil {
				continue
			}
			if st, err := f.Stat(); err == nil && st.Size() < t.offset {
				t.offset, t.rest = 0, nil
			}
			if _, err := f.Seek(t.offset, io.SeekStart); err != nil {
				f.Close()
				continue
			}
			for {
				k, err := f.Read(buf)
				t.offset += int64(k)
				t.rest = append(t.rest, buf[:k]...)
				for {
					i := bytes.IndexByte(t.rest, '\n')
					if i < 0 {
						break
					}
					emit(t.name, t.rest[:i])
					t.rest = t.rest[i+1:]
				}
				if err != nil || k == 0 {
					break
				}
			}
			f.Close()
		}
	}
}

// readTail reads enough of the end of path for its last n lines (all of it
// when n <= 0), dropping a partial first line, and returns the file size.
func readTail(path string, n int) ([]byte, int64, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	size := st.Size()
	from := int64(0)
	if n > 0 {
		from = max(0, size-int64(n)*4096-(64<<10))
	}
	b := make([]byte, size-from)
	if _, err := f.ReadAt(b, from); err != nil && err != io.EOF {
		return nil, 0, fmt.Errorf("read %s: %w", path, err)
	}
	if from > 0 {
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return b, size, nil
}

package supervisor

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// maxLine caps one log line; longer lines are cut so a runaway writer cannot
// make the reader buffer grow without bound.
const maxLine = 256 << 10

// logFile is one process's <dir>/<name>.log. Both output streams and the
// supervisor's own notes about the process go into it, one JSON object per
// line. When it passes maxBytes it is renamed to <name>.log.1 (replacing the
// previous one), so a long soak keeps at most two files per process.
type logFile struct {
	mu       sync.Mutex
	path     string
	proc     string
	maxBytes int64
	f        *os.File
	size     int64
}

func openLog(dir, proc string, maxBytes int64) (*logFile, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("log dir: %w", err)
	}
	l := &logFile{path: filepath.Join(dir, proc+".log"), proc: proc, maxBytes: maxBytes}
	if err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *logFile) open() error {
	f, err := os.OpenFile(l.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("stat log: %w", err)
	}
	l.f, l.size = f, st.Size()
	return nil
}

// writeLine writes one line, which must already be a JSON object without
// the newline.
func (l *logFile) writeLine(line []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return
	}
	if l.maxBytes > 0 && l.size+int64(len(line))+1 > l.maxBytes && l.size > 0 {
		l.f.Close()
		_ = os.Rename(l.path, l.path+".1")
		if err := l.open(); err != nil {
			l.f = nil
			return
		}
	}
	buf := make([]byte, 0, len(line)+1)
	buf = append(append(buf, line...), '\n')
	n, _ := l.f.Write(buf)
	l.size += int64(n)
}

// wrapped is the shape given to output lines that are not JSON objects.
type wrapped struct {
	TS     string `json:"ts"`
	Proc   string `json:"proc"`
	Stream string `json:"stream"`
	Msg    string `json:"msg"`
}

// note records something the supervisor did to the process (stream "supervisor").
func (l *logFile) note(format string, args ...any) {
	l.emit("supervisor", fmt.Sprintf(format, args...))
}

func (l *logFile) emit(stream, msg string) {
	b, _ := json.Marshal(wrapped{TS: time.Now().UTC().Format(time.RFC3339Nano), Proc: l.proc, Stream: stream, Msg: msg})
	l.writeLine(b)
}

// copyLines reads r to EOF, passing JSON-object lines through unchanged and
// wrapping every other line.
func (l *logFile) copyLines(r io.Reader, stream string) {
	br := bufio.NewReaderSize(r, 64<<10)
	var long []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(long) < maxLine {
				long = append(long, chunk...)
			}
			continue
		}
		line := chunk
		if long != nil {
			line = append(long, chunk...)
			long = nil
		}
		if len(line) > maxLine {
			line = line[:maxLine]
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) > 0 {
			if line[0] == '{' && json.Valid(line) {
				l.writeLine(line)
			} else {
				l.emit(stream, string(line))
			}
		}
		if err != nil {
			return
		}
	}
}

func (l *logFile) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
}

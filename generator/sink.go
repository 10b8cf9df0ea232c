package generator

import (
	"bufio"
	"context"
	"fmt"
	"io"
)

// Sink delivers records. Write may block (a full producer buffer) but never
// drops a record.
type Sink interface {
	Write(ctx context.Context, r *Record) error
	// Flush waits until every written record is delivered.
	Flush(ctx context.Context) error
	Close() error
	// Buffered is the number of records written but not yet delivered.
	Buffered() int64
	// Retains reports whether the sink keeps r.Value after Write returns, so
	// the caller must not reuse its buffer.
	Retains() bool
}

// WriterSink writes JSON lines (one record per line) to w.
type WriterSink struct {
	w     *bufio.Writer
	c     io.Closer
	stats *Stats
}

// NewWriterSink writes to w; c, when not nil, is closed by Close.
func NewWriterSink(w io.Writer, c io.Closer, stats *Stats) *WriterSink {
	return &WriterSink{w: bufio.NewWriterSize(w, 256<<10), c: c, stats: stats}
}

func (s *WriterSink) Write(_ context.Context, r *Record) error {
	s.w.Write(r.Value)
	if err := s.w.WriteByte('\n'); err != nil {
		s.stats.Errors.Add(1)
		return fmt.Errorf("write output: %w", err)
	}
	s.stats.Produced.Add(1)
	return nil
}

func (s *WriterSink) Flush(context.Context) error {
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("flush output: %w", err)
	}
	return nil
}

func (s *WriterSink) Close() error {
	err := s.w.Flush()
	if s.c != nil {
		if cerr := s.c.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// Buffered is 0: a record handed to the writer counts as delivered (and the
// bufio buffer must not be read from another goroutine).
func (s *WriterSink) Buffered() int64 { return 0 }
func (s *WriterSink) Retains() bool   { return false }

//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/util"
)

func openTest(t *testing.T) (*DB, string) {
	t.Helper()
	dir := t.TempDir()
	db, err := Open(Options{AllowedDirs: []string{dir}, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db, dir
}

func prepare(t *testing.T, db *DB, sql string) (*Stmt, error) {
	t.Helper()
	c, err := db.Connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.Prepare(context.Background(), sql)
}

func TestPrepareRefusesEverythingButReads(t *testing.T) {
	db, dir := openTest(t)
	for _, sql := range []string{
		"COPY (SELECT 1) TO '" + filepath.Join(dir, "x.csv") + "'", "ATTACH ':memory:' AS m", "INSTALL json", "LOAD json",
		"SET threads = 1", "PRAGMA enable_profiling", "CREATE TABLE t (i INT)", "SELECT 1; SELECT 2",
		"SELECT * FROM read_csv('/etc/passwd')", "SELECT * FROM glob('/*')",
	} {
		if _, err := prepare(t, db, sql); !errors.Is(err, ErrRefused) {
			t.Errorf("%q: %v, want ErrRefused", sql, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.csv")); err == nil {
		t.Fatal("COPY wrote a file")
	}
	if _, err := prepare(t, db, "SELEC 1"); !errors.Is(err, ErrInvalid) {
		t.Errorf("syntax error: %v", err)
	}
}

func TestConfigurationIsLocked(t *testing.T) {
	db, _ := openTest(t)
	c, _ := db.Connect()
	defer c.Close()
	// Even bypassing Prepare's checks, the sandbox cannot be undone.
	if err := exec(c.conn, "SET enable_external_access = true"); err == nil {
		t.Fatal("configuration could be changed")
	}
}

func TestStreamCapsBatchBytesAndKeepsEveryRow(t *testing.T) {
	db, _ := openTest(t)
	st, err := prepare(t, db, "SELECT range AS i, repeat('x', 500) AS s FROM range(50000)")
	if err != nil {
		t.Fatal(err)
	}
	var rows, batches int64
	var sum int64
	err = st.Stream(context.Background(), Limits{BatchBytes: 1 << 20}, func(r arrow.RecordBatch) error {
		defer r.Release()
		if sz := util.TotalRecordSize(r); sz > 1<<20 {
			t.Errorf("batch of %d bytes exceeds the 1 MiB cap", sz)
		}
		for _, v := range r.Column(0).(interface{ Int64Values() []int64 }).Int64Values() {
			sum += v
		}
		rows += r.NumRows()
		batches++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if rows != 50000 || sum != 50000*49999/2 || batches < 25 {
		t.Fatalf("rows %d sum %d batches %d", rows, sum, batches)
	}
}

func TestStreamIsInterruptedByItsContext(t *testing.T) {
	db, _ := openTest(t)
	st, err := prepare(t, db, "SELECT count(*) FROM range(1000000000) a, range(1000000000) b WHERE a.range + b.range = -1")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = st.Stream(ctx, Limits{}, func(r arrow.RecordBatch) error { r.Release(); return nil })
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("got %v, want ErrInterrupted", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("interrupt took %s", d)
	}
}

func TestBoundParameters(t *testing.T) {
	db, _ := openTest(t)
	st, err := prepare(t, db, "SELECT $1::BIGINT + 1 AS a, $2::VARCHAR || '!' AS b, $3::TIMESTAMPTZ AS c")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Bind([]any{int64(41), "hi", TimestampTZ(time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC).UnixMicro())}); err != nil {
		t.Fatal(err)
	}
	var got []string
	err = st.Stream(context.Background(), Limits{}, func(r arrow.RecordBatch) error {
		defer r.Release()
		for i := 0; i < int(r.NumCols()); i++ {
			got = append(got, strings.Clone(r.Column(i).ValueStr(0)))
		}
		return nil
	})
	if err != nil || len(got) != 3 || got[0] != "42" || got[1] != "hi!" || got[2] != "2026-11-26T01:00:00Z" {
		t.Fatalf("got %v (%v)", got, err)
	}
	if err := st.Bind([]any{int64(1)}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("wrong parameter count: %v", err)
	}
}

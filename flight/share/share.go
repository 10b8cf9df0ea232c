//go:build duckdb_arrow

// Package share owns what a share session sees instead of account ids: the
// lake's pseudonym key, the keyed pseudonyms (HMAC-SHA256), the table of the
// pseudonyms of every id in the files share queries read (kept in a DuckDB
// database only share sessions use, under a schema name drawn at random), the
// masked table expressions that stand for the lake tables, and the last check
// that no raw id leaves in a result or an error message.
package share

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go"

	"github.com/finlake/finlake/flight/engine"
	"github.com/finlake/finlake/flight/sqlrewrite"
)

// IDColumn is the column share sessions never see.
const IDColumn = "account_id"

// Prefix starts every pseudonym; lower case, so no pseudonym (nor its
// hexadecimal tail) can look like a raw id (AC + 7 digits).
const Prefix = "acc_"

// keyBytes is the size of the pseudonym key (the HMAC-SHA256 block's half).
const keyBytes = 32

// LoadKey reads the lake's pseudonym key from path, creating it (32 random
// bytes, hex, mode 0600, its directory 0700) when the file does not exist. A
// key file others may read is refused: whoever holds the key can reverse
// every pseudonym by hashing the 10 million possible ids.
func LoadKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key := make([]byte, keyBytes)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("pseudonym key: %w", err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("pseudonym key directory: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			return LoadKey(path) // another server created it meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("create pseudonym key %s: %w", path, err)
		}
		_, werr := f.WriteString(hex.EncodeToString(key) + "\n")
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return nil, fmt.Errorf("write pseudonym key %s: %w", path, werr)
		}
		return key, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read pseudonym key: %w", err)
	}
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("pseudonym key %s is readable by others (mode %s): chmod 600 it", path, st.Mode().Perm())
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) < 16 {
		return nil, fmt.Errorf("pseudonym key %s: want at least 32 hex digits on one line", path)
	}
	return key, nil
}

// Pseudonym is id's pseudonym under key: acc_ and the first 16 hex digits
// (64 bits) of HMAC-SHA256(key, id). The same id has the same pseudonym in
// every table and query of a lake (joins and GROUP BY keep working); without
// the key it cannot be computed, so hashing every candidate id reveals nothing.
func Pseudonym(key []byte, id string) string {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(id))
	return Prefix + hex.EncodeToString(h.Sum(nil)[:8])
}

// Masker keeps the pseudonym table of one share database up to date and
// writes the masked table expressions over it.
type Masker struct {
	key   []byte
	db    *engine.DB
	table string // schema-qualified name of the pseudonym table

	mu   sync.Mutex
	seen map[string]bool // data files whose ids the table holds
}

// New creates the pseudonym table in db, the database only share sessions
// query. Its schema's name is random: share SQL may name only lake tables
// (see Check), and this keeps even a mistake there from finding the table.
func New(ctx context.Context, db *engine.DB, key []byte) (*Masker, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	schema := "s_" + hex.EncodeToString(b)
	m := &Masker{key: key, db: db, table: schema + ".pseudonyms", seen: map[string]bool{}}
	if err := db.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return nil, fmt.Errorf("share database: %w", err)
	}
	if err := db.Exec(ctx, "CREATE TABLE "+m.table+" (raw VARCHAR PRIMARY KEY, pseudonym VARCHAR NOT NULL)"); err != nil {
		return nil, fmt.Errorf("share database: %w", err)
	}
	return m, nil
}

// Ensure adds the pseudonyms of the ids in the given data files (read by
// filesSQL, a table expression over exactly them) to the table, once per
// file; a query's files are ensured before it runs, so every id it reads has
// its pseudonym.
func (m *Masker) Ensure(ctx context.Context, files []string, filesSQL func([]string) (string, error)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var todo []string
	for _, f := range files {
		if !m.seen[f] {
			todo = append(todo, f)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	from, err := filesSQL(todo)
	if err != nil {
		return err
	}
	conn, err := m.db.Connect()
	if err != nil {
		return err
	}
	defer conn.Close()
	col := sqlrewrite.QuoteIdent(IDColumn)
	st, err := conn.Prepare(ctx, "SELECT DISTINCT "+col+" FROM "+from+" AS t WHERE "+col+" IS NOT NULL")
	if err != nil {
		return fmt.Errorf("read account ids for pseudonyms: %w", err)
	}
	defer st.Close()
	var fresh []string
	err = st.Stream(ctx, engine.Limits{}, func(rec arrow.RecordBatch) error {
		defer rec.Release()
		col, ok := rec.Column(0).(interface {
			Value(int) string
			IsNull(int) bool
			Len() int
		})
		if !ok {
			return fmt.Errorf("account_id is %s, not a string", rec.Column(0).DataType())
		}
		for i := 0; i < col.Len(); i++ {
			if !col.IsNull(i) {
				fresh = append(fresh, strings.Clone(col.Value(i))) // the batch is released below
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read account ids for pseudonyms: %w", err)
	}
	for len(fresh) > 0 {
		n := min(len(fresh), 2000)
		var b strings.Builder
		// Ids already there (seen in an earlier file) are skipped by the key.
		b.WriteString("INSERT OR IGNORE INTO " + m.table + " VALUES ")
		for i, id := range fresh[:n] {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "(%s, %s)", engine.QuoteString(id), engine.QuoteString(Pseudonym(m.key, id)))
		}
		if err := m.db.Exec(ctx, b.String()); err != nil {
			return fmt.Errorf("store pseudonyms: %w", err)
		}
		fresh = fresh[n:]
	}
	for _, f := range todo {
		m.seen[f] = true
	}
	return nil
}

// plainText are the string columns of the pipeline's tables that hold no
// free text: they pass through unchanged. Every other string column (alert
// descriptions, columns added later) has its ids replaced.
var plainText = map[string]bool{"transaction_id": true, "alert_id": true, "currency": true, "merchant_name": true,
	"merchant_category": true, "transaction_type": true, "location_country": true, "status": true, "rule_name": true,
	"rule_type": true, "severity": true, "session_id": true, "host": true, "version": true}

// Redacted is what an id that is not the row's own becomes in free text.
const Redacted = "AC#######"

// HasID reports whether the table's columns include the id column.
func HasID(fields []iceberg.NestedField) bool {
	for _, f := range fields {
		if f.Name == IDColumn {
			return true
		}
	}
	return false
}

// TableSQL wraps raw, the table expression reading a pinned table, so the
// share session sees the pseudonym in the id column and in free text (the
// row's own id replaced by its pseudonym, any other id by AC#######). The
// raw column is never visible above this expression. DuckDB computes only
// the columns a query uses: a query that never reads the descriptions pays
// nothing for them.
func (m *Masker) TableSQL(raw string, fields []iceberg.NestedField) string {
	hasID := HasID(fields)
	id := "t." + sqlrewrite.QuoteIdent(IDColumn)
	cols := make([]string, 0, len(fields))
	for _, f := range fields {
		q := sqlrewrite.QuoteIdent(f.Name)
		c := "t." + q
		switch {
		case f.Name == IDColumn:
			c = "m.pseudonym"
		case f.Type.Equals(iceberg.PrimitiveTypes.String) && !plainText[f.Name]:
			if hasID {
				c = fmt.Sprintf("CASE WHEN %s IS NULL OR %s = '' THEN %s ELSE replace(%s, %s, coalesce(m.pseudonym, '%sunmapped')) END",
					id, id, c, c, id, Prefix)
			}
			c = fmt.Sprintf("regexp_replace(%s, 'AC[0-9]{7}', '%s', 'g')", c, Redacted)
		}
		cols = append(cols, c+" AS "+q)
	}
	if len(cols) == 0 {
		return raw
	}
	sql := "(SELECT " + strings.Join(cols, ", ") + " FROM " + raw + " AS t"
	if hasID {
		sql += " LEFT JOIN " + m.table + " AS m ON m.raw = " + id
	}
	return sql + ")"
}

// rawID is the shape of a raw account id.
var rawID = regexp.MustCompile(`AC[0-9]{7}`)

// RedactText replaces anything shaped like a raw id in s (error messages of
// share sessions).
func RedactText(s string) string { return rawID.ReplaceAllString(s, Redacted) }

// ErrLeak marks a share result withheld because it holds a raw id.
var ErrLeak = errors.New("result withheld: it holds a value shaped like a raw account id (AC + 7 digits), which share sessions never receive")

// CheckBatch is the last line of defence: it fails when any string in rec
// (also inside lists, structs and maps) is shaped like a raw id. The masked
// tables never yield one, so this fires only on what a query wrote itself
// (a literal) or on a masking bug, never silently.
func CheckBatch(rec arrow.RecordBatch) error {
	for _, c := range rec.Columns() {
		if hasRawID(c) {
			return ErrLeak
		}
	}
	return nil
}

func hasRawID(a arrow.Array) bool {
	switch x := a.(type) {
	case *array.String:
		return scanStrings(x.Len(), x.IsNull, x.Value)
	case *array.LargeString:
		return scanStrings(x.Len(), x.IsNull, x.Value)
	case *array.StringView:
		return scanStrings(x.Len(), x.IsNull, x.Value)
	case *array.Binary:
		return scanStrings(x.Len(), x.IsNull, x.ValueString)
	case *array.LargeBinary:
		return scanStrings(x.Len(), x.IsNull, x.ValueString)
	case *array.Dictionary:
		return hasRawID(x.Dictionary())
	case *array.Struct:
		for i := 0; i < x.NumField(); i++ {
			if hasRawID(x.Field(i)) {
				return true
			}
		}
	case *array.Map:
		return hasRawID(x.Keys()) || hasRawID(x.Items())
	case array.ListLike:
		return hasRawID(x.ListValues())
	case array.Union:
		for i := 0; i < x.NumFields(); i++ {
			if hasRawID(x.Field(i)) {
				return true
			}
		}
	}
	return false
}

func scanStrings(n int, isNull func(int) bool, value func(int) string) bool {
	for i := 0; i < n; i++ {
		if !isNull(i) && rawID.MatchString(value(i)) {
			return true
		}
	}
	return false
}

package lakeview

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/finlake/finlake/flight/sqlrewrite"
)

// IcebergType maps an ADD COLUMN type to the Iceberg type.
func IcebergType(ac *sqlrewrite.AddColumn) (iceberg.Type, error) {
	switch ac.Type {
	case "BOOLEAN":
		return iceberg.PrimitiveTypes.Bool, nil
	case "INT":
		return iceberg.PrimitiveTypes.Int32, nil
	case "BIGINT":
		return iceberg.PrimitiveTypes.Int64, nil
	case "FLOAT":
		return iceberg.PrimitiveTypes.Float32, nil
	case "DOUBLE":
		return iceberg.PrimitiveTypes.Float64, nil
	case "DECIMAL":
		return iceberg.DecimalTypeOf(ac.Precision, ac.Scale), nil
	case "DATE":
		return iceberg.PrimitiveTypes.Date, nil
	case "TIME":
		return iceberg.PrimitiveTypes.Time, nil
	case "TIMESTAMP":
		return iceberg.PrimitiveTypes.Timestamp, nil
	case "TIMESTAMPTZ":
		return iceberg.PrimitiveTypes.TimestampTz, nil
	case "STRING":
		return iceberg.PrimitiveTypes.String, nil
	case "UUID":
		return iceberg.PrimitiveTypes.UUID, nil
	case "BINARY":
		return iceberg.PrimitiveTypes.Binary, nil
	}
	return nil, fmt.Errorf("%w: type %s", ErrUnsupported, ac.Type)
}

// AddColumn adds an optional column to the table's schema (metadata only: no
// data file is rewritten; older files read NULL). A commit that loses a race
// with another writer (ingest commits all the time) is retried on freshly
// loaded metadata: iceberg-go reports most such losses as a plain
// "requirement failed" error rather than ErrCommitFailed.
func (l *Lake) AddColumn(ctx context.Context, ac *sqlrewrite.AddColumn) (schemaID int, err error) {
	typ, err := IcebergType(ac)
	if err != nil {
		return 0, err
	}
	for attempt := 1; ; attempt++ {
		tbl, err := l.Load(ctx, ac.Table)
		if err != nil {
			return 0, err
		}
		if _, exists := tbl.Schema().FindFieldByNameCaseInsensitive(ac.Column); exists {
			return 0, fmt.Errorf("%w: column %s already exists in %s.%s", ErrConflict, ac.Column, l.namespace, ac.Table)
		}
		txn := tbl.NewTransaction()
		if err := txn.UpdateSchema(true, false).AddColumn([]string{ac.Column}, typ, ac.Comment, false, nil).Commit(); err != nil {
			return 0, fmt.Errorf("add column %s to %s.%s: %w", ac.Column, l.namespace, ac.Table, err)
		}
		newTbl, err := txn.Commit(ctx)
		if err == nil {
			return newTbl.Schema().ID, nil
		}
		if !retryable(err) || attempt >= 50 {
			return 0, fmt.Errorf("commit new schema of %s.%s (attempt %d): %w", l.namespace, ac.Table, attempt, err)
		}
		slog.Debug("schema commit lost a race with another writer; retrying on fresh metadata", "table", ac.Table, "attempt", attempt, "err", err)
		// A short random pause: a writer that commits every few milliseconds
		// must not win every round, and a lockstep with it is broken by jitter.
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("add column %s to %s.%s: gave up after %d lost commit races: %w", ac.Column, l.namespace, ac.Table, attempt, context.Cause(ctx))
		case <-time.After(time.Duration(5+rand.IntN(40)) * time.Millisecond):
		}
	}
}

func retryable(err error) bool {
	if errors.Is(err, table.ErrCommitFailed) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "requirement failed") || strings.Contains(msg, "has changed") ||
		strings.Contains(msg, "CommitFailed") || strings.Contains(msg, "commit failed") ||
		strings.Contains(msg, "database is locked") || strings.Contains(msg, "SQLITE_BUSY")
}

//go:build tools

// Package finlake pins modules that parts of finlake under construction
// import, so that go.mod stays stable while several parts grow at once.
package finlake

import (
	_ "github.com/apache/arrow-adbc/go/adbc/driver/flightsql"
	_ "github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	_ "github.com/apache/iceberg-go/table"
	_ "github.com/apache/iceberg-go/table/compaction"
	_ "github.com/duckdb/duckdb-go/v2"
	_ "github.com/fsnotify/fsnotify"
	_ "github.com/goccy/go-yaml"
	_ "github.com/google/uuid"
	_ "github.com/olekukonko/tablewriter"
	_ "github.com/schollz/progressbar/v3"
	_ "github.com/twmb/franz-go/pkg/kadm"
	_ "github.com/twmb/franz-go/pkg/kgo"
)

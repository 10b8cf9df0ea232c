//go:build !duckdb_arrow

package main

import "github.com/urfave/cli/v3"

// rulesExtra: without DuckDB (build tag duckdb_arrow) there is no backtest.
var rulesExtra []*cli.Command

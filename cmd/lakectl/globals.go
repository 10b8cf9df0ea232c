package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/urfave/cli/v3"

	"github.com/finlake/finlake/contract"
	"github.com/finlake/finlake/internal/obs"
	"github.com/finlake/finlake/lake"
)

func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "data", Value: contract.DefaultDataDir, Sources: cli.EnvVars("FINLAKE_DATA"),
			Usage: "directory holding all finlake state (catalog, warehouse, logs)"},
		&cli.StringFlag{Name: "catalog-uri", Sources: cli.EnvVars("FINLAKE_CATALOG_URI"),
			Usage: "SQL catalog: a SQLite file path or sqlite:// URI, or postgres://… (default <data>/catalog.db)"},
		&cli.StringFlag{Name: "warehouse", Sources: cli.EnvVars("FINLAKE_WAREHOUSE"),
			Usage: "warehouse directory for table data (default <data>/warehouse)"},
		&cli.StringFlag{Name: "log-format", Value: "json", Sources: cli.EnvVars("FINLAKE_LOG_FORMAT"),
			Usage: "log format: json or text"},
		&cli.StringFlag{Name: "log-level", Value: "info", Sources: cli.EnvVars("FINLAKE_LOG_LEVEL"),
			Usage: "log level: debug, info, warn or error"},
	}
}

// setupLogging installs the process-wide slog logger from the global flags.
func setupLogging(ctx context.Context, cmd *cli.Command) (context.Context, error) {
	logger, err := obs.NewLogger(os.Stderr, cmd.String("log-format"), cmd.String("log-level"))
	if err != nil {
		return ctx, cli.Exit(fmt.Sprintf("lakectl: %v", err), 2)
	}
	slog.SetDefault(logger)
	return ctx, nil
}

// lakeConfig gives the catalog and warehouse locations the global flags name.
func lakeConfig(cmd *cli.Command) lake.Config {
	return lake.Config{
		DataDir:    cmd.String("data"),
		CatalogURI: cmd.String("catalog-uri"),
		Warehouse:  cmd.String("warehouse"),
	}
}

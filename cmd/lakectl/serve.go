//go:build duckdb_arrow

package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/finlake/finlake/flight"
)

func init() {
	register(&cli.Command{
		Name:  "serve",
		Usage: "serve the lake over Arrow Flight SQL (DuckDB over Iceberg snapshots, with time travel)",
		Description: `Answers read-only SQL over the Iceberg tables of the lake namespace for ADBC clients
(Jupyter, pandas, polars, lakectl query). Tables are lake.transactions or transactions; time travel
per table with FOR TIMESTAMP AS OF TIMESTAMP '...' or FOR VERSION AS OF <snapshot id>, or for a whole
query with the x-finlake-as-of call header; metadata tables "transactions$snapshots",
"transactions$history" and "transactions$files". The one admin statement is
ALTER TABLE lake.<table> ADD COLUMN <name> <type> [COMMENT '...'].

Without credentials the server accepts everyone who can reach it (it listens on 127.0.0.1 by
default) and takes admin statements from loopback clients only. With --reader-token/--admin-token
/--share-token or --basic-auth-file every call must authenticate. A share token (or a call with
lakectl query --mask) sees every account_id as an HMAC-SHA256 pseudonym keyed by --share-key-file.
Every statement is appended to --audit-log as a JSON line.

Examples:
  lakectl serve
  lakectl serve --listen 0.0.0.0:32010 --tls-cert cert.pem --tls-key key.pem \
      --reader-token "$READER" --admin-token "$ADMIN"
  FINLAKE_READER_TOKEN=... lakectl serve --query-timeout 2m --max-result-bytes 2GiB

  python: adbc_driver_flightsql.dbapi.connect("grpc://127.0.0.1:32010")`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:32010", Sources: cli.EnvVars("FINLAKE_FLIGHT_LISTEN"),
				Usage: "Flight SQL address (host:port; port 0 picks a free one)"},
			httpFlag("127.0.0.1:8093", "FINLAKE_FLIGHT_HTTP", "/healthz, /readyz, /metrics and /status"),
			&cli.StringFlag{Name: "tls-cert", Usage: "PEM certificate: serve grpc+tls"},
			&cli.StringFlag{Name: "tls-key", Usage: "PEM private key of --tls-cert"},
			&cli.StringFlag{Name: "reader-token", Sources: cli.EnvVars("FINLAKE_READER_TOKEN"),
				Usage: "bearer token for read queries (prefer the env variable: flags show in ps)"},
			&cli.StringFlag{Name: "admin-token", Sources: cli.EnvVars("FINLAKE_ADMIN_TOKEN"),
				Usage: "bearer token for read queries and ALTER TABLE ... ADD COLUMN"},
			&cli.StringFlag{Name: "share-token", Sources: cli.EnvVars("FINLAKE_SHARE_TOKEN"),
				Usage: "bearer token for masked reads: every account_id is an HMAC-SHA256 pseudonym (README: Sharing)"},
			&cli.StringFlag{Name: "share-key-file", Sources: cli.EnvVars("FINLAKE_SHARE_KEY_FILE"),
				Usage: "the lake's pseudonym key (created, mode 0600, at the first masked query; default <data>/secrets/share-pseudonym.key)"},
			&cli.StringFlag{Name: "audit-log", Sources: cli.EnvVars("FINLAKE_AUDIT_LOG"),
				Usage: "append one JSON line per statement here (default <data>/logs/flight-audit.jsonl; - for stderr, off for none)"},
			&cli.StringFlag{Name: "basic-auth-file", Sources: cli.EnvVars("FINLAKE_BASIC_AUTH_FILE"),
				Usage: "file of user:password[:admin|reader|share] lines for username/password logins"},
			&cli.DurationFlag{Name: "query-timeout", Value: time.Minute, Usage: "stop a query (planning and streaming) after this long; 0: never"},
			&cli.IntFlag{Name: "max-concurrent-queries", Value: flight.DefaultMaxConcurrent, Usage: "queries DuckDB runs at once; more wait (0: no limit)"},
			&cli.DurationFlag{Name: "queue-wait", Value: flight.DefaultQueueWait, Usage: "how long a query waits for its turn before it is refused"},
			&cli.IntFlag{Name: "max-long-queries", Value: flight.DefaultMaxLong, Usage: "queries that may run past --long-query-after at once; another is stopped then (0: no limit)"},
			&cli.DurationFlag{Name: "long-query-after", Value: flight.DefaultLongAfter, Usage: "when a query counts as long (see --max-long-queries)"},
			&cli.StringFlag{Name: "max-result-bytes", Value: "4GiB", Usage: "largest result a query may stream (Arrow bytes; 0: unlimited)"},
			&cli.Int64Flag{Name: "max-result-rows", Value: 0, Usage: "most rows a query may stream (0: unlimited)"},
			&cli.StringFlag{Name: "memory-limit", Value: "2GB", Sources: cli.EnvVars("FINLAKE_DUCKDB_MEMORY"),
				Usage: "DuckDB memory limit, shared by the running queries (it spills to a temp directory beyond it)"},
			&cli.StringFlag{Name: "max-spill", Value: "4GB", Usage: "most disk DuckDB may spill to (beyond it a query fails with out of memory)"},
			&cli.IntFlag{Name: "threads", Usage: "DuckDB threads (0: one per core)"},
			&cli.StringFlag{Name: "ready-file", Usage: "write the Flight SQL address to this file once serving (for scripts and tests)"},
		},
		Action: runServe,
	})
}

func runServe(ctx context.Context, cmd *cli.Command) error {
	maxBytes, err := parseSize(cmd.String("max-result-bytes"))
	if err != nil {
		return cli.Exit(fmt.Sprintf("--max-result-bytes: %v", err), 2)
	}
	auth := &flight.Auth{ReaderToken: cmd.String("reader-token"), AdminToken: cmd.String("admin-token"), ShareToken: cmd.String("share-token")}
	if f := cmd.String("basic-auth-file"); f != "" {
		users, err := readBasicAuthFile(f)
		if err != nil {
			return cli.Exit(fmt.Sprintf("--basic-auth-file: %v", err), 2)
		}
		auth.Users = users
	}
	cfg := flight.Config{
		Lake:        lakeConfig(cmd),
		Listen:      cmd.String("listen"),
		HTTP:        httpAddr(cmd),
		TLSCert:     cmd.String("tls-cert"),
		TLSKey:      cmd.String("tls-key"),
		Auth:        auth,
		MemoryLimit: cmd.String("memory-limit"),
		AuditLog:    cmd.String("audit-log"),
		MaxSpill:    cmd.String("max-spill"),
		Threads:     int(cmd.Int("threads")),
		Options: flight.Options{
			QueryTimeout:   cmd.Duration("query-timeout"),
			MaxResultBytes: maxBytes,
			MaxResultRows:  cmd.Int64("max-result-rows"),
			ShareKeyFile:   cmd.String("share-key-file"),
			MaxConcurrent:  int(cmd.Int("max-concurrent-queries")),
			QueueWait:      cmd.Duration("queue-wait"),
			MaxLongQueries: int(cmd.Int("max-long-queries")),
			LongQueryAfter: cmd.Duration("long-query-after"),
		},
	}
	r, err := flight.Start(ctx, cfg)
	if err != nil {
		return cli.Exit(fmt.Sprintf("serve: %v", err), 1)
	}
	defer r.Stop()
	if f := cmd.String("ready-file"); f != "" {
		if err := writeReadyFile(f, []byte(r.Addr()+"\n")); err != nil {
			return cli.Exit(fmt.Sprintf("--ready-file: %v", err), 1)
		}
	}
	<-ctx.Done()
	return nil
}

// readBasicAuthFile reads user:password[:admin|reader] lines; # starts a comment.
func readBasicAuthFile(path string) ([]flight.BasicUser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var users []flight.BasicUser
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Split(line, ":")
		if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
			return nil, fmt.Errorf("%s:%d: want user:password[:admin|reader|share]", path, n)
		}
		u := flight.BasicUser{User: parts[0], Password: parts[1], Role: flight.RoleReader}
		if len(parts) == 3 {
			switch parts[2] {
			case "admin":
				u.Role = flight.RoleAdmin
			case "share":
				u.Role = flight.RoleShare
			case "reader", "":
			default:
				return nil, fmt.Errorf("%s:%d: role %q is not admin, reader or share", path, n, parts[2])
			}
		}
		users = append(users, u)
	}
	return users, sc.Err()
}

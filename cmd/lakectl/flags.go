package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/urfave/cli/v3"
)

// The flags several commands share, each declared once here so a default or
// a convention (--http off, --format table|json) is the same everywhere.

// defaultBrokers is the bootstrap address of `lakectl kafka run` and the stack.
const defaultBrokers = "127.0.0.1:9092"

func brokersFlag() cli.Flag {
	return &cli.StringFlag{Name: "brokers", Value: defaultBrokers, Sources: cli.EnvVars("FINLAKE_BROKERS"),
		Usage: "Kafka bootstrap servers, comma-separated"}
}

func brokerList(cmd *cli.Command) []string {
	var out []string
	for _, b := range strings.Split(cmd.String("brokers"), ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}

// httpOff is the --http value that disables a service's HTTP listener.
const httpOff = "off"

// httpFlag declares a service's --http address; "off" (or empty) disables it.
func httpFlag(value, env, serves string) cli.Flag {
	f := &cli.StringFlag{Name: "http", Value: value, Usage: "address of " + serves + ` ("off" to disable)`}
	if env != "" {
		f.Sources = cli.EnvVars(env)
	}
	return f
}

// httpAddr is --http, or "" when it is off.
func httpAddr(cmd *cli.Command) string {
	a := strings.TrimSpace(cmd.String("http"))
	if strings.EqualFold(a, httpOff) {
		return ""
	}
	return a
}

// tableOrJSONFlag is --format for commands that print a table or JSON.
func tableOrJSONFlag() cli.Flag {
	return &cli.StringFlag{Name: "format", Value: "table", Usage: "table or json"}
}

// wantJSON checks a tableOrJSONFlag: true for json, false for table.
func wantJSON(cmd *cli.Command) (bool, error) {
	switch f := cmd.String("format"); f {
	case "table":
		return false, nil
	case "json":
		return true, nil
	default:
		return false, badInput("--format %q: want table or json", f)
	}
}

var sizeUnits = []struct {
	suffix string
	mult   int64
}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"TIB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"T", 1 << 40}, {"B", 1}}

// parseSize reads byte sizes such as 0, 1048576, 128MiB, 512MB, 64M or 4 GiB
// (the form termout.Bytes prints reads back).
func parseSize(s string) (int64, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	n, mult := u, int64(1)
	for _, su := range sizeUnits {
		if v, ok := strings.CutSuffix(u, su.suffix); ok {
			n, mult = strings.TrimSpace(v), su.mult
			break
		}
	}
	v, err := strconv.ParseFloat(n, 64)
	if err != nil || v < 0 || v != v {
		return 0, fmt.Errorf("%q is not a size like 512MiB, 4GiB or 1048576", s)
	}
	return int64(v * float64(mult)), nil
}

// writeReadyFile renames a temp file into place, so a reader polling for the
// file never sees it half written.
func writeReadyFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

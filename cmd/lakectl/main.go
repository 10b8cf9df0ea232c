// Command lakectl is the single finlake binary: every Go role (generate,
// ingest, serve, rules, stack) and every client command lives here. This
// package only wires flags to the packages that do the work.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"github.com/urfave/cli/v3"
)

// commands is filled by the init functions of this package's files, so each
// role adds its command without touching the others.
var commands []*cli.Command

func register(c *cli.Command) { commands = append(commands, c) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := newApp().Run(ctx, os.Args)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "lakectl:", err)
		var ec cli.ExitCoder
		if errors.As(err, &ec) {
			os.Exit(ec.ExitCode())
		}
		os.Exit(1)
	}
}

func newApp() *cli.Command {
	sort.Slice(commands, func(i, j int) bool { return commands[i].Name < commands[j].Name })
	return &cli.Command{
		Name:                  "lakectl",
		Usage:                 "run and query the finlake streaming lakehouse",
		Version:               version,
		EnableShellCompletion: true,
		Flags:                 globalFlags(),
		Before:                setupLogging,
		Commands:              commands,
	}
}

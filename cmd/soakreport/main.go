// Command soakreport judges a soak run's samples again with the current
// curves and rewrites its report: `go run ./cmd/soakreport soak-<date>.json`
// writes soak-<date>.md and the JSON beside it.
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/finlake/finlake/e2e/soak"
)

func main() {
	if len(os.Args) != 2 || !strings.HasSuffix(os.Args[1], ".json") {
		fmt.Fprintln(os.Stderr, "usage: soakreport RUN.json (a soak's raw samples)")
		os.Exit(2)
	}
	r, err := soak.Rejudge(os.Args[1])
	if err == nil {
		_, _, err = soak.Write(strings.TrimSuffix(os.Args[1], ".json"), r)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "soakreport:", err)
		os.Exit(1)
	}
}

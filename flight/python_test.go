//go:build duckdb_arrow

package flight_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestPythonClients runs e2e/python/test_flight_clients.py: pandas and
// polars through adbc_driver_flightsql against bin/lakectl serving a lake that
// PyIceberg wrote. It needs FINLAKE_BIN (set by `just test-go`) and the venv.
func TestPythonClients(t *testing.T) {
	bin := os.Getenv("FINLAKE_BIN")
	if bin == "" {
		t.Skip("FINLAKE_BIN is not set (just build; FINLAKE_BIN=bin/lakectl go test ...)")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	py := filepath.Join(root, ".venv", "bin", "python")
	if _, err := os.Stat(py); err != nil {
		t.Skipf("no Python venv at %s (python -m venv .venv && .venv/bin/pip install -r e2e/python/requirements.txt)", py)
	}
	if !filepath.IsAbs(bin) {
		bin = filepath.Join(root, bin)
	}
	cmd := exec.Command(py, "-m", "pytest", "-q", "-p", "no:cacheprovider", filepath.Join(root, "e2e", "python", "test_flight_clients.py"))
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "FINLAKE_BIN="+bin)
	out, err := cmd.CombinedOutput()
	t.Logf("pytest:\n%s", out)
	if err != nil {
		t.Fatalf("pytest failed: %v", err)
	}
}

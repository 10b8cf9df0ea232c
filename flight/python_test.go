//go:build duckdb_arrow

package flight_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/finlake/finlake/internal/testsupport"
)

// TestPythonClients runs e2e/python/test_flight_clients.py: pandas and
// polars through adbc_driver_flightsql against bin/lakectl serving a lake that
// PyIceberg wrote. It needs FINLAKE_BIN (set by `just test-go`) and the venv.
func TestPythonClients(t *testing.T) {
	bin := testsupport.LakectlBin(t)
	root := testsupport.ModuleRoot(t)
	py := filepath.Join(root, ".venv", "bin", "python")
	if _, err := os.Stat(py); err != nil {
		t.Skipf("no Python venv at %s (python -m venv .venv && .venv/bin/pip install -r e2e/python/requirements.txt)", py)
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

//go:build duckdb_arrow

package flight_test

import (
	"testing"

	"github.com/finlake/finlake/internal/testsupport"
)

// TestPythonClients runs e2e/python/test_flight_clients.py: pandas and
// polars through adbc_driver_flightsql against bin/lakectl serving a lake that
// PyIceberg wrote. It needs FINLAKE_BIN (set by `just test-go`) and the venv.
func TestPythonClients(t *testing.T) {
	testsupport.Pytest(t, "test_flight_clients.py", "FINLAKE_BIN="+testsupport.LakectlBin(t))
}

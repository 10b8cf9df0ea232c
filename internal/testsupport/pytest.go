package testsupport

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// VenvPython is the repository's .venv interpreter, which ./finlake test*
// creates with e2e/python/requirements.txt; the test is skipped without it,
// since a Python interop test cannot say anything about the Go side alone.
func VenvPython(t testing.TB) string {
	t.Helper()
	py := filepath.Join(ModuleRoot(t), ".venv", "bin", "python")
	if _, err := os.Stat(py); err != nil {
		t.Skipf("no Python venv at %s (python3 -m venv .venv && .venv/bin/pip install -r e2e/python/requirements.txt): %v", py, err)
	}
	return py
}

// Pytest runs one e2e/python test file with the venv's pytest from the
// module root, with env added to the test process's environment, and fails
// the test with pytest's output when any Python test fails.
func Pytest(t testing.TB, file string, env ...string) {
	t.Helper()
	root := ModuleRoot(t)
	cmd := exec.Command(VenvPython(t), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--durations=4",
		filepath.Join(root, "e2e", "python", file))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pytest %s failed: %v\n%s", file, err, out)
	}
	t.Logf("pytest %s:\n%s", file, out)
}

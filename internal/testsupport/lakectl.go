package testsupport

import (
	"os"
	"path/filepath"
	"testing"
)

// LakectlBin is the absolute path of the lakectl binary under test,
// $FINLAKE_BIN (`just test` builds it and sets it); a relative path is taken
// from the module root, as the justfile and the skip advice name it. The
// test is skipped when FINLAKE_BIN is unset and fails when it names no file.
func LakectlBin(t testing.TB) string {
	t.Helper()
	bin := os.Getenv("FINLAKE_BIN")
	if bin == "" {
		t.Skip("FINLAKE_BIN is not set: build lakectl (`just build`) and run with FINLAKE_BIN=bin/lakectl (`just test` does)")
	}
	if !filepath.IsAbs(bin) {
		bin = filepath.Join(ModuleRoot(t), bin)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("FINLAKE_BIN %s: %v", bin, err)
	}
	return bin
}

// ModuleRoot is the directory of the go.mod above the test's working
// directory (go test runs a test in its package's directory).
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

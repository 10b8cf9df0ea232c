package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestFinlakeScriptInstallsJustOnAMachineWithoutIt runs the README's first
// command the way a fresh machine of ours meets it: Go, a JDK, Maven, Python
// and npm present, no just. It hides just by giving the script a PATH of
// links to every other program, and an npm prefix of its own, so the install
// is real (the npm registry) and lands in the test's directory.
func TestFinlakeScriptInstallsJustOnAMachineWithoutIt(t *testing.T) {
	if testing.Short() {
		t.Skip("installs just from the npm registry")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if e.Name() == "just" {
				continue
			}
			link := filepath.Join(bin, e.Name())
			if _, err := os.Lstat(link); err == nil {
				continue // the first on PATH wins, as in a shell
			}
			_ = os.Symlink(filepath.Join(dir, e.Name()), link)
		}
	}
	prefix := t.TempDir()
	env := append(os.Environ(), "PATH="+bin, "NPM_CONFIG_PREFIX="+prefix)

	run := func() string {
		t.Helper()
		cmd := exec.Command(filepath.Join(root, "finlake"), "--version")
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("./finlake --version: %v\n%s", err, out)
		}
		return string(out)
	}
	first := run()
	if !strings.Contains(first, "installing just") || !strings.Contains(first, "just 1.") {
		t.Fatalf("first run should install just and run it; it printed:\n%s", first)
	}
	if _, err := os.Stat(filepath.Join(prefix, "bin", "just")); err != nil {
		t.Fatalf("just was not installed into the npm prefix: %v", err)
	}
	// Idempotent: the second run finds just in the npm prefix and installs nothing.
	if second := run(); strings.Contains(second, "installing") {
		t.Fatalf("second run installed again:\n%s", second)
	}
}

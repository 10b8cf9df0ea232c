package generator_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/finlake/finlake/generator"
	"github.com/finlake/finlake/internal/testsupport"
)

// The acceptance check of the foundation issue, run on the built binary.
func TestLakectlGenerateSeededToStdoutIsByteIdenticalAndContractValid(t *testing.T) {
	bin := testsupport.LakectlBin(t)
	run := func(labels string) []byte {
		cmd := exec.Command(bin, "generate", "--count", "2000", "--seed", "7", "--output", "-", "--malformed-rate", "0.02", "--labels", labels)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("lakectl generate: %v\n%s", err, stderr.String())
		}
		return out
	}
	dir := t.TempDir()
	a := run(filepath.Join(dir, "a.jsonl"))
	b := run(filepath.Join(dir, "b.jsonl"))
	if !bytes.Equal(a, b) {
		t.Fatal("two runs of `lakectl generate --count 2000 --seed 7 --output -` differ")
	}
	lines := bytes.Split(bytes.TrimSuffix(a, []byte("\n")), []byte("\n"))
	if len(lines) != 2000 {
		t.Fatalf("%d lines, want 2000", len(lines))
	}
	raw, err := os.ReadFile(filepath.Join(dir, "a.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[int64]string{}
	for _, l := range bytes.Split(bytes.TrimSpace(raw), []byte("\n")) {
		var lab generator.Label
		if err := json.Unmarshal(l, &lab); err != nil {
			t.Fatalf("label %q: %v", l, err)
		}
		if lab.Label == "malformed" {
			kinds[lab.Seq] = lab.Kind
		}
	}
	if len(kinds) == 0 {
		t.Fatal("no malformed records at --malformed-rate 0.02")
	}
	chk := newContractChecker(time.Now())
	for i, l := range lines {
		errs := chk.check(l)
		want, bad := kinds[int64(i)]
		if (!bad && len(errs) > 0) || (bad && (len(errs) != 1 || errs[0] != want)) {
			t.Fatalf("line %d (malformed kind %q) fails %v: %s", i+1, want, errs, l)
		}
	}
}

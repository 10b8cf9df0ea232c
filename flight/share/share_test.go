//go:build duckdb_arrow

package share

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

func TestKeyIsCreatedPrivateAndReadBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secrets", "k")
	k1, err := LoadKey(path)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := LoadKey(path)
	if err != nil || string(k1) != string(k2) || len(k1) != keyBytes {
		t.Fatalf("key read back %x, created %x (%v)", k2, k1, err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("key mode %s", st.Mode().Perm())
	}
}

func TestKeyReadableByOthersIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k")
	if err := os.WriteFile(path, []byte("00112233445566778899aabbccddeeff\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKey(path); err == nil {
		t.Fatal("a world-readable key was accepted")
	}
}

func TestPseudonymDependsOnTheKeyAndNeverLooksLikeAnID(t *testing.T) {
	a, b := []byte("key one, 32 bytes long.........."), []byte("key two, 32 bytes long..........")
	if Pseudonym(a, "AC0001234") != Pseudonym(a, "AC0001234") || Pseudonym(a, "AC0001234") == Pseudonym(b, "AC0001234") {
		t.Fatal("pseudonyms must be stable under one key and differ between keys")
	}
	id := regexp.MustCompile(`^acc_[0-9a-f]{16}$`)
	for i := 0; i < 10000; i++ {
		p := Pseudonym(a, string(rune('A'+i%26))+string(rune(i)))
		if !id.MatchString(p) || rawID.MatchString(p) {
			t.Fatalf("pseudonym %q", p)
		}
	}
}

func TestRedactTextReplacesEveryRawID(t *testing.T) {
	if got := RedactText("no AC0001234 or AC7654321 here, AC12 stays"); got != "no AC####### or AC####### here, AC12 stays" {
		t.Fatal(got)
	}
}

package rules

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The rule-language corpus of contract/testdata/rules is walked by this test
// and by the Flink job's RuleCorpusTest: both parsers must accept the valid
// files with the same normalized rules and reject each invalid file on the
// same field with the same check.
const corpusDir = "../contract/testdata/rules"

var expectRE = regexp.MustCompile(`^# expect: (\S+) (\S+)\n`)
var rulePathRE = regexp.MustCompile(`^rules\[\d+\]\.?`)

func corpusFiles(t *testing.T, sub string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(corpusDir, sub, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus files in %s/%s: %v", corpusDir, sub, err)
	}
	return files
}

func TestEveryValidCorpusFileParsesToItsCanonicalRules(t *testing.T) {
	for _, f := range corpusFiles(t, "valid") {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			set, err := Parse(f, data, "", nil)
			if err != nil {
				t.Fatalf("rejected: %v", err)
			}
			var got []string
			for _, name := range set.Names() {
				got = append(got, canonical(t, set.Rules[name]))
			}
			want := readLines(t, strings.TrimSuffix(f, ".yaml")+".canonical.jsonl")
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("canonical rules differ\n got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func TestEveryInvalidCorpusFileIsRejectedOnItsFieldWithItsCheck(t *testing.T) {
	for _, f := range corpusFiles(t, "invalid") {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			m := expectRE.FindSubmatch(data)
			if m == nil {
				t.Fatalf("first line must be `# expect: FIELD CHECK`")
			}
			_, err = Parse(f, data, "", nil)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("accepted, want %s %s", m[1], m[2])
			}
			if len(ve.Problems) != 1 {
				t.Fatalf("want exactly one problem (%s %s), got %v", m[1], m[2], err)
			}
			p := ve.Problems[0]
			if field := rulePathRE.ReplaceAllString(p.Path, ""); field != string(m[1]) || p.Check != string(m[2]) {
				t.Errorf("got %s %s (%s), want %s %s", field, p.Check, p.Msg, m[1], m[2])
			}
		})
	}
}

// canonical renders a parsed rule in the corpus's normalized form (see
// contract/testdata/rules/README.md).
func canonical(t *testing.T, r Rule) string {
	t.Helper()
	var params string
	dur := func(key string) int64 {
		d, err := ParseDuration(fmt.Sprint(r.Params[key]))
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		return int64(d)
	}
	minute := func(key string) int {
		var h, m int
		if _, err := fmt.Sscanf(fmt.Sprint(r.Params[key]), "%d:%d", &h, &m); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		return h*60 + m
	}
	switch r.Type {
	case "threshold":
		params = fmt.Sprintf(`{"amount_usd":%q}`, r.Params["amount_usd"])
	case "velocity":
		params = fmt.Sprintf(`{"count":%d,"window_ns":%d}`, r.Params["count"], dur("window"))
	case "time_of_day":
		params = fmt.Sprintf(`{"start_minute":%d,"end_minute":%d,"timezone":%q}`, minute("start"), minute("end"), r.Params["timezone"])
	case "new_country":
		params = fmt.Sprintf(`{"min_history":%d,"lookback_ns":%d}`, r.Params["min_history"], dur("lookback"))
	default:
		t.Fatalf("rule type %q", r.Type)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	str := func(s string) string {
		b.Reset()
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		return strings.TrimSuffix(b.String(), "\n")
	}
	return fmt.Sprintf(`{"rule_name":%s,"rule_type":%s,"severity":%s,"enabled":%t,"description":%s,"params":%s}`,
		str(r.Name), str(r.Type), str(r.Severity), r.Enabled, str(r.Description), params)
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			out = append(out, line)
		}
	}
	return out
}

package rules

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func problems(t *testing.T, rulesYAML, fxYAML string) []Problem {
	t.Helper()
	var fx []byte
	if fxYAML != "" {
		fx = []byte(fxYAML)
	}
	_, err := Parse("rules.yaml", []byte(rulesYAML), "fx.yaml", fx)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want a *ValidationError, got %v", err)
	}
	return ve.Problems
}

func wantProblem(t *testing.T, ps []Problem, file string, line int, substr string) {
	t.Helper()
	for _, p := range ps {
		if p.File == file && p.Line == line && strings.Contains(p.Msg, substr) {
			return
		}
	}
	t.Fatalf("no problem %s:%d containing %q in:\n%v", file, line, substr, ps)
}

func TestShippedConfigurationIsValid(t *testing.T) {
	set, err := LoadFiles("../config/rules.yaml", "../config/fx_rates.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Rules) != 4 || set.FX == nil || set.FX.USDPerUnit["EUR"] != "1.08" {
		t.Fatalf("unexpected set: %+v fx=%+v", set.Rules, set.FX)
	}
}

func TestRuleEncodesAsTheContractJSON(t *testing.T) {
	set, err := Parse("r.yaml", []byte(`rules:
  - rule_name: high_value
    rule_type: threshold
    severity: high
    enabled: true
    description: Single transaction above 10,000 USD equivalent
    params: {amount_usd: 10000}
`), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	r := set.Rules["high_value"]
	r.Version = 3
	got, _ := r.Encode()
	want := `{"rule_name":"high_value","rule_type":"threshold","version":3,"enabled":true,"severity":"high","description":"Single transaction above 10,000 USD equivalent","params":{"amount_usd":10000}}`
	if string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestFXTableEncodesDecimalsAsWritten(t *testing.T) {
	set, err := Parse("r.yaml", []byte("rules: []\n"), "fx.yaml", []byte("version: 2\nusd_per_unit: {USD: 1, EUR: 1.08, GBP: 1.270, JPY: 0.0067}\n"))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := set.FX.Encode()
	want := `{"usd_per_unit":{"EUR":1.08,"GBP":1.27,"JPY":0.0067,"USD":1},"version":2}`
	if string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestInvalidRulesReportEveryProblemWithItsLine(t *testing.T) {
	ps := problems(t, `rules:
  - rule_name: a
    rule_type: thresh
    severity: high
    description: x
    params: {amount_usd: 1}
  - rule_name: b
    rule_type: velocity
    severity: urgent
    description: x
    params:
      count: 0
      window: 1 minute
  - rule_name: c
    rule_type: time_of_day
    severity: low
    description: x
    params:
      start: "25:00"
      end: 05:00
      timezone: Mars/Olympus
  - rule_name: a
    rule_type: threshold
    severity: low
    description: x
    params:
      amount_usd: -5
  - rule_name: d
    rule_type: new_country
    severity: low
    description: x
    params:
      lookback: 30d
`, "")
	wantProblem(t, ps, "rules.yaml", 3, "unknown rule_type")
	wantProblem(t, ps, "rules.yaml", 9, "bad severity")
	wantProblem(t, ps, "rules.yaml", 12, "from 1 to 2147483647")
	wantProblem(t, ps, "rules.yaml", 13, "not a duration")
	wantProblem(t, ps, "rules.yaml", 19, "not a time")
	wantProblem(t, ps, "rules.yaml", 21, "IANA")
	wantProblem(t, ps, "rules.yaml", 27, "must be positive")
	wantProblem(t, ps, "rules.yaml", 33, "missing min_history")
}

func TestDuplicateRuleNameNamesTheFirstLine(t *testing.T) {
	ps := problems(t, `rules:
  - {rule_name: a, rule_type: threshold, severity: high, description: x, params: {amount_usd: 1}}
  - {rule_name: a, rule_type: threshold, severity: low, description: y, params: {amount_usd: 2}}
`, "")
	wantProblem(t, ps, "rules.yaml", 3, "first defined at line 2")
}

func TestUnknownKeyAndMisspelledParamAreRejected(t *testing.T) {
	ps := problems(t, `rules:
  - rule_name: a
    rule_type: velocity
    sevrity: high
    description: x
    params: {count: 5, windw: 1m}
`, "")
	wantProblem(t, ps, "rules.yaml", 4, `unknown key "sevrity"`)
	wantProblem(t, ps, "rules.yaml", 6, `unknown key "windw"`)
}

func TestFXTableMissingACurrencyIsInvalid(t *testing.T) {
	ps := problems(t, "rules: []\n", "version: 1\nusd_per_unit:\n  USD: 1\n  EUR: 1.08\n  GBP: 1.27\n")
	wantProblem(t, ps, "fx.yaml", 3, "currency JPY is missing")
}

func TestYAMLSyntaxErrorHasALine(t *testing.T) {
	ps := problems(t, "rules:\n  - rule_name: a\n    rule_type: [threshold\n", "")
	if len(ps) != 1 || ps[0].Line == 0 || !strings.Contains(ps[0].Msg, "YAML syntax") {
		t.Fatalf("want one syntax problem with a line, got %v", ps)
	}
}

func TestDurationSyntax(t *testing.T) {
	for s, ok := range map[string]bool{"1m": true, "30d": true, "500ms": true, "0s": false, "1.5h": false, "1h30m": false, "": false, "-1m": false} {
		if _, err := ParseDuration(s); (err == nil) != ok {
			t.Errorf("ParseDuration(%q) err=%v, want ok=%v", s, err, ok)
		}
	}
}

func TestDiffBumpsChangedVersionsAndTombstonesRemovedRules(t *testing.T) {
	live := Set{Rules: map[string]Rule{
		"keep":   {Name: "keep", Type: "threshold", Version: 4, Enabled: true, Severity: "high", Description: "d", Params: map[string]any{"amount_usd": jsonNum("10000")}},
		"change": {Name: "change", Type: "threshold", Version: 2, Enabled: true, Severity: "high", Description: "d", Params: map[string]any{"amount_usd": jsonNum("10000")}},
		"gone":   {Name: "gone", Type: "threshold", Version: 7, Enabled: true, Severity: "high", Description: "d", Params: map[string]any{"amount_usd": jsonNum("1")}},
	}}
	desired := Set{Rules: map[string]Rule{
		"keep":   {Name: "keep", Type: "threshold", Enabled: true, Severity: "high", Description: "d", Params: map[string]any{"amount_usd": jsonNum("10000")}},
		"change": {Name: "change", Type: "threshold", Enabled: true, Severity: "high", Description: "d", Params: map[string]any{"amount_usd": jsonNum("20000")}},
		"new":    {Name: "new", Type: "velocity", Enabled: true, Severity: "low", Description: "d", Params: map[string]any{"count": int64(5), "window": "1m"}},
	}}
	got := map[string]string{}
	for _, c := range Diff(live, desired).Changes {
		v := int64(0)
		if c.New != nil {
			v = c.New.(*Rule).Version
		}
		got[c.Key] = c.Kind + ":" + itoa(v)
	}
	want := map[string]string{"keep": "unchanged:4", "change": "update:3", "gone": "delete:0", "new": "add:1"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %s want %s", k, got[k], v)
		}
	}
}

func TestChangedFXTableGetsTheHigherOfFileAndLiveVersionPlusOne(t *testing.T) {
	live := Set{Rules: map[string]Rule{}, FX: &FXTable{USDPerUnit: map[string]json.Number{"USD": "1", "EUR": "1.08"}, Version: 4}}
	for _, c := range []struct {
		fileVersion int64
		eur         string
		want        string
	}{{1, "1.08", "unchanged:4"}, {1, "1.080", "unchanged:4"}, {1, "1.10", "update:5"}, {9, "1.10", "update:9"}} {
		desired := Set{Rules: map[string]Rule{}, FX: &FXTable{USDPerUnit: map[string]json.Number{"USD": "1", "EUR": json.Number(c.eur)}, Version: c.fileVersion}}
		ch := Diff(live, desired).Changes[0]
		if got := ch.Kind + ":" + itoa(ch.New.(*FXTable).Version); got != c.want {
			t.Errorf("file v%d EUR %s: got %s want %s", c.fileVersion, c.eur, got, c.want)
		}
	}
}

func TestAMissingFXTableIsReportedAfterEveryProblemOfTheRulesFile(t *testing.T) {
	dir := t.TempDir()
	rulesPath, fxPath := filepath.Join(dir, "my-rules.yaml"), filepath.Join(dir, "fx_rates.yaml")
	os.WriteFile(rulesPath, []byte(twoBadRules), 0o644)

	_, err := LoadFiles(rulesPath, fxPath)

	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 3 {
		t.Fatalf("want 3 problems (2 in the rules file, then the FX table), got %v", err)
	}
	wantProblem(t, ve.Problems[:2], rulesPath, 4, "bad severity")
	wantProblem(t, ve.Problems[:2], rulesPath, 6, "must be positive")
	if last := ve.Problems[2]; last.File != fxPath || !strings.Contains(last.Msg, `--fx PATH`) || !strings.Contains(last.Msg, `--fx ""`) {
		t.Fatalf("last problem %v: want the missing FX table with the --fx hint", last)
	}
}

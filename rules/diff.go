package rules

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Change kinds of a plan.
const (
	Add       = "add"
	Update    = "update"
	Delete    = "delete"
	Unchanged = "unchanged"
)

// Change is what applying a file does to one key of alert-rules.
type Change struct {
	Kind    string
	Key     string   // rule name, or FXKey
	Old     any      // *Rule or *FXTable as live, nil when added
	New     any      // *Rule or *FXTable to publish (version set), nil when deleted
	Details []string // "severity: high → critical"
}

// Plan is the ordered list of changes, rules by name and the FX table last.
type Plan struct{ Changes []Change }

// Pending is the number of changes that publish a record.
func (p Plan) Pending() int {
	n := 0
	for _, c := range p.Changes {
		if c.Kind != Unchanged {
			n++
		}
	}
	return n
}

// Diff compares the desired configuration to the live one. A changed rule
// gets the live version + 1, a new one version 1; an unchanged rule keeps its
// live version. A changed FX table gets max(file version, live version + 1),
// so the version written in fx_rates.yaml is a floor the operator controls.
// A nil desired FX table leaves the live one alone.
func Diff(live, desired Set) Plan {
	var p Plan
	sorted := unionKeys(live.Rules, desired.Rules)
	for _, n := range sorted {
		old, inLive := live.Rules[n]
		want, inDesired := desired.Rules[n]
		switch {
		case !inDesired:
			o := old
			p.Changes = append(p.Changes, Change{Kind: Delete, Key: n, Old: &o})
		case !inLive:
			w := want
			w.Version = 1
			p.Changes = append(p.Changes, Change{Kind: Add, Key: n, New: &w})
		default:
			w, o := want, old
			details := ruleDetails(old, want)
			if len(details) == 0 {
				w.Version = old.Version
				p.Changes = append(p.Changes, Change{Kind: Unchanged, Key: n, Old: &o, New: &w})
				continue
			}
			w.Version = old.Version + 1
			p.Changes = append(p.Changes, Change{Kind: Update, Key: n, Old: &o, New: &w, Details: details})
		}
	}
	if desired.FX != nil {
		want := *desired.FX
		switch {
		case live.FX == nil:
			p.Changes = append(p.Changes, Change{Kind: Add, Key: FXKey, New: &want})
		default:
			old := *live.FX
			details := fxDetails(old, want)
			if len(details) == 0 {
				want.Version = old.Version
				p.Changes = append(p.Changes, Change{Kind: Unchanged, Key: FXKey, Old: &old, New: &want})
			} else {
				want.Version = max(want.Version, old.Version+1)
				p.Changes = append(p.Changes, Change{Kind: Update, Key: FXKey, Old: &old, New: &want, Details: details})
			}
		}
	}
	return p
}

func ruleDetails(old, want Rule) []string {
	var d []string
	str := func(name, a, b string) {
		if a != b {
			d = append(d, fmt.Sprintf("%s: %q → %q", name, a, b))
		}
	}
	str("rule_type", old.Type, want.Type)
	str("severity", old.Severity, want.Severity)
	str("description", old.Description, want.Description)
	if old.Enabled != want.Enabled {
		d = append(d, fmt.Sprintf("enabled: %v → %v", old.Enabled, want.Enabled))
	}
	sorted := unionKeys(old.Params, want.Params)
	for _, k := range sorted {
		a, b := canon(old.Params[k]), canon(want.Params[k])
		if a != b {
			d = append(d, fmt.Sprintf("params.%s: %s → %s", k, a, b))
		}
	}
	return d
}

func fxDetails(old, want FXTable) []string {
	var d []string
	sorted := unionKeys(old.USDPerUnit, want.USDPerUnit)
	for _, k := range sorted {
		a, aok := old.USDPerUnit[k]
		b, bok := want.USDPerUnit[k]
		switch {
		case !aok:
			d = append(d, fmt.Sprintf("usd_per_unit.%s: (none) → %s", k, b))
		case !bok:
			d = append(d, fmt.Sprintf("usd_per_unit.%s: %s → (removed)", k, a))
		case canonicalDecimal(string(a)) != canonicalDecimal(string(b)):
			d = append(d, fmt.Sprintf("usd_per_unit.%s: %s → %s", k, a, b))
		}
	}
	return d
}

// canon renders a parameter so that 5 (int64 from YAML) and 5 (json.Number
// from the topic) compare equal.
func canon(v any) string {
	if v == nil {
		return "(none)"
	}
	if n, ok := v.(json.Number); ok {
		return canonicalDecimal(string(n))
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// ParamsString renders params compactly for tables: amount_usd=10000 window=1m.
func ParamsString(p map[string]any) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		v := p[k]
		if s, ok := v.(string); ok {
			parts[i] = k + "=" + s
		} else {
			parts[i] = k + "=" + canon(v)
		}
	}
	return strings.Join(parts, " ")
}

// unionKeys is the sorted set of keys present in a or b.
func unionKeys[A, B any](a map[string]A, b map[string]B) []string {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, dup := a[k]; !dup {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// Package rules owns the fraud-rule configuration: parsing and validating
// config/rules.yaml and config/fx_rates.yaml (errors carry YAML line numbers;
// LoadFX is the one reader of the FX file), reading the live rule set back
// from the compacted alert-rules topic, diffing, and publishing changes
// transactionally. The records themselves are contract.Rule and
// contract.FXTable.
package rules

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // IANA zones must validate the same on a laptop without /usr/share/zoneinfo

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/finlake/finlake/contract"
)

// FXKey is the alert-rules key that carries the FX table.
const FXKey = contract.FXKey

// Rule types and severities the Flink job understands.
var (
	RuleTypes  = []string{"threshold", "velocity", "time_of_day", "new_country"}
	Severities = []string{"low", "medium", "high", "critical"}
	// RequiredCurrencies are the currencies the generator emits; the job
	// cannot convert a transaction to USD without them.
	RequiredCurrencies = []string{"USD", "EUR", "GBP", "JPY"}
)

// SeverityRank orders severities for filtering; unknown ones rank 0.
func SeverityRank(s string) int {
	for i, v := range Severities {
		if v == s {
			return i + 1
		}
	}
	return 0
}

// Rule and FXTable are the alert-rules records; contract declares them,
// with their encoding, for every reader (the names here keep Set and Plan
// reading as rules' own vocabulary).
type (
	Rule    = contract.Rule
	FXTable = contract.FXTable
)

// Set is a complete configuration: the rules by name and the FX table.
type Set struct {
	Rules map[string]Rule
	FX    *FXTable
	// Records holds, for a set read back from alert-rules (ReadLive), where
	// each live record is; nil for a set parsed from files.
	Records map[string]Coord
}

// Names gives the rule names in order.
func (s Set) Names() []string {
	names := make([]string, 0, len(s.Rules))
	for n := range s.Rules {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Problem is one thing wrong with a configuration file, at a position.
type Problem struct {
	File   string
	Line   int
	Column int
	Path   string // e.g. rules[1].params.window
	// Check names the rule of the rule language that failed, in the
	// vocabulary the Flink job's RuleParser uses too (required, type,
	// unknown_key, enum, name, range, duration, hhmm, empty_window, timezone,
	// duplicate, yaml, iso4217): the shared corpus in contract/testdata/rules
	// holds both parsers to the same verdict.
	Check string
	Msg   string
}

func (p Problem) String() string {
	loc := p.File
	if p.Line > 0 {
		loc = fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)
	}
	if p.Path != "" {
		return fmt.Sprintf("%s: %s: %s", loc, p.Path, p.Msg)
	}
	return fmt.Sprintf("%s: %s", loc, p.Msg)
}

// ValidationError lists every problem found, so one run shows them all.
type ValidationError struct{ Problems []Problem }

func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return fmt.Sprintf("%d problem(s) in the rule configuration:\n  %s", len(e.Problems), strings.Join(lines, "\n  "))
}

type checker struct {
	file     string
	problems []Problem
}

func (c *checker) add(n ast.Node, path, check, format string, args ...any) {
	p := Problem{File: c.file, Path: path, Check: check, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		if tk := n.GetToken(); tk != nil && tk.Position != nil {
			p.Line, p.Column = tk.Position.Line, tk.Position.Column
		}
	}
	c.problems = append(c.problems, p)
}

func (c *checker) err() error {
	if len(c.problems) == 0 {
		return nil
	}
	return &ValidationError{Problems: c.problems}
}

// LoadFiles reads and validates a rules file and, when fxPath is not empty,
// an FX table file. The rules file is always validated in full: an FX table
// that cannot be read is one more problem after the rules file's own, so one
// run shows everything to fix.
func LoadFiles(rulesPath, fxPath string) (Set, error) {
	rb, err := os.ReadFile(rulesPath)
	if err != nil {
		return Set{}, fmt.Errorf("read rules: %w", err)
	}
	var fb []byte
	var fxProblem *Problem
	if fxPath != "" {
		if fb, err = os.ReadFile(fxPath); err != nil {
			fxProblem = &Problem{File: fxPath, Msg: unreadableFX(err)}
		}
	}
	set, err := Parse(rulesPath, rb, fxPath, fb)
	if fxProblem == nil {
		return set, err
	}
	ve := &ValidationError{}
	errors.As(err, &ve) // Parse fails only with a *ValidationError
	ve.Problems = append(ve.Problems, *fxProblem)
	return Set{}, ve
}

func unreadableFX(err error) string {
	const hint = `pass --fx PATH to name the FX table, or --fx "" to leave the live FX table alone`
	if errors.Is(err, os.ErrNotExist) {
		return "no FX table here: " + hint
	}
	return fmt.Sprintf("cannot read the FX table (%v): %s", err, hint)
}

// LoadFX reads and validates an FX table file alone (config/fx_rates.yaml):
// the one reader of that file, for the generator as for the rules publisher.
func LoadFX(path string) (FXTable, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return FXTable{}, fmt.Errorf("read FX rates: %w", err)
	}
	c := &checker{file: path}
	fx := parseFX(c, data)
	if err := c.err(); err != nil {
		return FXTable{}, err
	}
	return *fx, nil
}

// Parse validates rule YAML (and FX YAML when fxData is not nil) and returns
// the set, or a *ValidationError naming every problem with its line.
func Parse(rulesName string, rulesData []byte, fxName string, fxData []byte) (Set, error) {
	c := &checker{file: rulesName}
	set := Set{Rules: map[string]Rule{}}
	parseRules(c, rulesData, set.Rules)
	if fxData != nil {
		fc := &checker{file: fxName}
		set.FX = parseFX(fc, fxData)
		c.problems = append(c.problems, fc.problems...)
	}
	if err := c.err(); err != nil {
		return Set{}, err
	}
	return set, nil
}

func parseDoc(c *checker, data []byte) *ast.MappingNode {
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		var ye yaml.Error
		p := Problem{File: c.file, Check: "yaml", Msg: "YAML syntax: " + err.Error()}
		if e, ok := err.(yaml.Error); ok {
			ye = e
			if tk := ye.GetToken(); tk != nil && tk.Position != nil {
				p.Line, p.Column = tk.Position.Line, tk.Position.Column
			}
			p.Msg = "YAML syntax: " + ye.GetMessage()
		}
		c.problems = append(c.problems, p)
		return nil
	}
	if len(f.Docs) == 0 || f.Docs[0].Body == nil {
		c.add(nil, "", "yaml", "the file is empty")
		return nil
	}
	if len(f.Docs) > 1 {
		c.add(f.Docs[1].Body, "", "yaml", "only one YAML document is allowed")
	}
	m, ok := unwrap(f.Docs[0].Body).(*ast.MappingNode)
	if !ok {
		if mv, ok2 := unwrap(f.Docs[0].Body).(*ast.MappingValueNode); ok2 {
			return &ast.MappingNode{BaseNode: &ast.BaseNode{}, Start: mv.GetToken(), Values: []*ast.MappingValueNode{mv}}
		}
		c.add(f.Docs[0].Body, "", "type", "the top level must be a mapping")
		return nil
	}
	return m
}

// unwrap strips comments, anchors and tags so checks see the value itself.
func unwrap(n ast.Node) ast.Node {
	for {
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.TagNode:
			n = v.Value
		case *ast.CommentGroupNode:
			return nil
		default:
			return n
		}
	}
}

type field struct {
	key   ast.Node
	value ast.Node
}

// fields maps a mapping's keys to their nodes, reporting duplicate and
// non-string keys.
func fields(c *checker, m *ast.MappingNode, path string) (map[string]field, []string) {
	out := map[string]field{}
	var order []string
	for _, mv := range m.Values {
		k := keyString(mv.Key)
		if k == "" {
			c.add(mv.Key, path, "type", "keys must be plain strings")
			continue
		}
		if prev, dup := out[k]; dup {
			c.add(mv.Key, join(path, k), "duplicate", "duplicate key (first at line %d)", line(prev.key))
			continue
		}
		out[k] = field{key: mv.Key, value: unwrap(mv.Value)}
		order = append(order, k)
	}
	return out, order
}

func keyString(k ast.MapKeyNode) string {
	switch v := k.(type) {
	case *ast.StringNode:
		return v.Value
	case ast.ScalarNode:
		if s, ok := v.GetValue().(string); ok {
			return s
		}
	}
	return ""
}

func line(n ast.Node) int {
	if n == nil {
		return 0
	}
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		return tk.Position.Line
	}
	return 0
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func unknownKeys(c *checker, fs map[string]field, order []string, path string, allowed ...string) {
	for _, k := range order {
		ok := false
		for _, a := range allowed {
			if k == a {
				ok = true
				break
			}
		}
		if !ok {
			hint := ""
			if k == "version" {
				hint = " (versions are managed by lakectl: it bumps them when a rule changes)"
			}
			c.add(fs[k].key, join(path, k), "unknown_key", "unknown key %q; allowed: %s%s", k, strings.Join(allowed, ", "), hint)
		}
	}
}

var ruleNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,127}$`)

func parseRules(c *checker, data []byte, out map[string]Rule) {
	top := parseDoc(c, data)
	if top == nil {
		return
	}
	tf, order := fields(c, top, "")
	unknownKeys(c, tf, order, "", "rules")
	rf, ok := tf["rules"]
	if !ok {
		c.add(top, "", "required", "missing key \"rules\" (a list of rules)")
		return
	}
	seq, ok := rf.value.(*ast.SequenceNode)
	if !ok {
		if _, null := rf.value.(*ast.NullNode); null || rf.value == nil {
			return // an empty list: every live rule is to be deleted
		}
		c.add(rf.value, "rules", "type", "must be a list of rules")
		return
	}
	firstLine := map[string]int{}
	for i, item := range seq.Values {
		path := fmt.Sprintf("rules[%d]", i)
		m, ok := unwrap(item).(*ast.MappingNode)
		if !ok {
			if mv, ok2 := unwrap(item).(*ast.MappingValueNode); ok2 {
				m = &ast.MappingNode{BaseNode: &ast.BaseNode{}, Start: mv.GetToken(), Values: []*ast.MappingValueNode{mv}}
			} else {
				c.add(item, path, "type", "each rule must be a mapping with rule_name, rule_type, severity, enabled, description, params")
				continue
			}
		}
		r, ok := parseRule(c, m, path)
		if !ok {
			continue
		}
		if l, dup := firstLine[r.Name]; dup {
			c.add(m, path+".rule_name", "duplicate", "duplicate rule_name %q (first defined at line %d)", r.Name, l)
			continue
		}
		firstLine[r.Name] = line(m)
		out[r.Name] = r
	}
}

func parseRule(c *checker, m *ast.MappingNode, path string) (Rule, bool) {
	before := len(c.problems)
	fs, order := fields(c, m, path)
	unknownKeys(c, fs, order, path, "rule_name", "rule_type", "severity", "enabled", "description", "params")
	var r Rule
	r.Name = requireString(c, m, fs, path, "rule_name")
	if r.Name != "" {
		switch {
		case strings.HasPrefix(r.Name, "_"):
			c.add(fs["rule_name"].value, path+".rule_name", "name", "names starting with _ are reserved (the FX table travels as %s)", FXKey)
		case !ruleNameRE.MatchString(r.Name):
			c.add(fs["rule_name"].value, path+".rule_name", "name", "%q: use letters, digits, _ . - (starting with a letter, at most 128)", r.Name)
		}
	}
	r.Type = requireString(c, m, fs, path, "rule_type")
	if r.Type != "" && !contains(RuleTypes, r.Type) {
		c.add(fs["rule_type"].value, path+".rule_type", "enum", "unknown rule_type %q; want one of %s", r.Type, strings.Join(RuleTypes, ", "))
	}
	r.Severity = requireString(c, m, fs, path, "severity")
	if r.Severity != "" && !contains(Severities, r.Severity) {
		c.add(fs["severity"].value, path+".severity", "enum", "bad severity %q; want one of %s", r.Severity, strings.Join(Severities, ", "))
	}
	r.Description = requireString(c, m, fs, path, "description")
	r.Enabled = true
	if f, ok := fs["enabled"]; ok {
		b, isBool := f.value.(*ast.BoolNode)
		if !isBool {
			c.add(f.value, path+".enabled", "type", "must be true or false")
		} else {
			r.Enabled = b.Value
		}
	}
	pf, ok := fs["params"]
	var pm *ast.MappingNode
	if ok {
		pm, _ = pf.value.(*ast.MappingNode)
		if pm == nil {
			if mv, ok2 := pf.value.(*ast.MappingValueNode); ok2 {
				pm = &ast.MappingNode{BaseNode: &ast.BaseNode{}, Start: mv.GetToken(), Values: []*ast.MappingValueNode{mv}}
			}
		}
		if pm == nil {
			c.add(pf.value, path+".params", "type", "must be a mapping of the %s parameters", orUnknown(r.Type))
		}
	} else {
		c.add(m, path+".params", "required", "missing params (%s)", paramHelp(r.Type))
	}
	if pm != nil && contains(RuleTypes, r.Type) {
		r.Params = parseParams(c, r.Type, pm, path+".params")
	}
	return r, len(c.problems) == before
}

func orUnknown(t string) string {
	if contains(RuleTypes, t) {
		return t
	}
	return "rule's"
}

func paramHelp(t string) string {
	switch t {
	case "threshold":
		return "threshold needs amount_usd: a positive number"
	case "velocity":
		return "velocity needs count: a positive integer, window: a duration such as 1m"
	case "time_of_day":
		return `time_of_day needs start: "HH:MM", end: "HH:MM", timezone: an IANA zone such as UTC or Europe/Paris`
	case "new_country":
		return "new_country needs min_history: an integer >= 0, lookback: a duration such as 30d"
	}
	return "see config/rules.yaml for examples"
}

func requireString(c *checker, parent ast.Node, fs map[string]field, path, key string) string {
	f, ok := fs[key]
	if !ok {
		c.add(parent, join(path, key), "required", "missing %s", key)
		return ""
	}
	s, ok := scalarString(f.value)
	if !ok {
		c.add(f.value, join(path, key), "type", "must be a non-empty string")
		return ""
	}
	if strings.TrimSpace(s) == "" {
		c.add(f.value, join(path, key), "non_blank", "must not be blank")
		return ""
	}
	return s
}

// scalarString accepts strings only; a number where a name is expected is
// almost always a mistake worth reporting.
func scalarString(n ast.Node) (string, bool) {
	switch v := n.(type) {
	case *ast.StringNode:
		return v.Value, true
	case *ast.LiteralNode:
		return strings.TrimRight(v.Value.Value, "\n"), true
	}
	return "", false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

var (
	durationRE = regexp.MustCompile(`^([1-9][0-9]*)(ms|s|m|h|d)$`)
	hhmmRE     = regexp.MustCompile(`^([01][0-9]|2[0-3]):([0-5][0-9])$`)
)

// ParseDuration reads the rule duration syntax shared with the Flink job
// (RuleParser.durationNanos): one positive integer without leading zeros and
// one unit of ms, s, m, h or d (1m, 30d; no sums such as 1h30m), at most
// what an int64 of nanoseconds holds (about 292 years).
func ParseDuration(s string) (time.Duration, error) {
	m := durationRE.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("%q is not a duration: write one positive integer and one unit of ms, s, m, h, d (e.g. 1m, 90s, 30d)", s)
	}
	unit := map[string]time.Duration{"ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour}[m[2]]
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || n > int64(math.MaxInt64/unit) {
		return 0, fmt.Errorf("%q is not a duration: at most %dd", s, int64(math.MaxInt64/(24*time.Hour)))
	}
	return time.Duration(n) * unit, nil
}

// MaxCount bounds velocity count and new_country min_history: the job holds
// them as a Java int.
const MaxCount = math.MaxInt32

func parseParams(c *checker, typ string, m *ast.MappingNode, path string) map[string]any {
	fs, order := fields(c, m, path)
	out := map[string]any{}
	need := func(key string) (field, bool) {
		f, ok := fs[key]
		if !ok {
			c.add(m, join(path, key), "required", "missing %s (%s)", key, paramHelp(typ))
		}
		return f, ok
	}
	posNumber := func(key string) {
		if f, ok := need(key); ok {
			num, ok := number(f.value)
			if !ok {
				c.add(f.value, join(path, key), "type", "must be a number, got %s", f.value.String())
				return
			}
			if v, _ := strconv.ParseFloat(string(num), 64); v <= 0 {
				c.add(f.value, join(path, key), "range", "must be positive, got %s", num)
				return
			}
			out[key] = num
		}
	}
	integer := func(key string, min, max int64) {
		if f, ok := need(key); ok {
			n, ok := intValue(f.value)
			if !ok {
				c.add(f.value, join(path, key), "type", "must be an integer, got %s", f.value.String())
				return
			}
			if n < min || n > max {
				c.add(f.value, join(path, key), "range", "must be an integer from %d to %d, got %d", min, max, n)
				return
			}
			out[key] = n
		}
	}
	duration := func(key string) {
		if f, ok := need(key); ok {
			s, ok := scalarString(f.value)
			if !ok {
				s = f.value.String()
			}
			if _, err := ParseDuration(s); err != nil {
				c.add(f.value, join(path, key), "duration", "%v", err)
				return
			}
			out[key] = s
		}
	}
	hhmm := func(key string) (string, bool) {
		f, ok := need(key)
		if !ok {
			return "", false
		}
		s, isStr := scalarString(f.value)
		if !isStr {
			// YAML 1.1 reads an unquoted 01:00 as a sexagesimal number in some
			// parsers; only a string is unambiguous.
			c.add(f.value, join(path, key), "type", "must be a quoted time \"HH:MM\", got %s", f.value.String())
			return "", false
		}
		if !hhmmRE.MatchString(s) {
			c.add(f.value, join(path, key), "hhmm", "%q is not a time: write \"HH:MM\" in 24-hour form, 00:00 to 23:59", s)
			return "", false
		}
		out[key] = s
		return s, true
	}
	switch typ {
	case "threshold":
		unknownKeys(c, fs, order, path, "amount_usd")
		posNumber("amount_usd")
	case "velocity":
		unknownKeys(c, fs, order, path, "count", "window")
		integer("count", 1, MaxCount)
		duration("window")
	case "time_of_day":
		unknownKeys(c, fs, order, path, "start", "end", "timezone")
		start, ok1 := hhmm("start")
		end, ok2 := hhmm("end")
		if ok1 && ok2 && start == end {
			c.add(fs["end"].value, join(path, "end"), "empty_window", "start and end are both %s: the window [start, end) would be empty", start)
		}
		if f, ok := need("timezone"); ok {
			s, isStr := scalarString(f.value)
			_, err := time.LoadLocation(s)
			if !isStr || s == "" || s == "Local" || err != nil {
				c.add(f.value, join(path, "timezone"), "timezone", "%s is not an IANA time zone (e.g. UTC, Europe/Paris, America/New_York)", f.value.String())
			} else {
				out["timezone"] = s
			}
		}
	case "new_country":
		unknownKeys(c, fs, order, path, "min_history", "lookback")
		integer("min_history", 0, MaxCount)
		duration("lookback")
	}
	return out
}

// number gives a YAML integer or float in its written decimal form.
func number(n ast.Node) (json.Number, bool) {
	switch v := n.(type) {
	case *ast.IntegerNode:
		switch x := v.Value.(type) {
		case int64:
			return json.Number(strconv.FormatInt(x, 10)), true
		case uint64:
			return json.Number(strconv.FormatUint(x, 10)), true
		}
	case *ast.FloatNode:
		// The written form is kept (1.08 stays 1.08): rates and thresholds are
		// decimals for the job, which parses them as BigDecimal.
		tok := strings.ReplaceAll(v.GetToken().Value, "_", "")
		if _, err := strconv.ParseFloat(tok, 64); err == nil && !strings.ContainsAny(tok, "xXoO") {
			return json.Number(canonicalDecimal(tok)), true
		}
		return json.Number(strconv.FormatFloat(v.Value, 'f', -1, 64)), true
	}
	return "", false
}

// canonicalDecimal drops a leading + and redundant trailing zeros so that
// 10000.0 and 10000 compare equal in a diff.
func canonicalDecimal(s string) string {
	s = strings.TrimPrefix(s, "+")
	if strings.ContainsAny(s, "eE") {
		f, _ := strconv.ParseFloat(s, 64)
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	if strings.Contains(s, ".") {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	if strings.HasPrefix(s, ".") {
		s = "0" + s
	}
	return s
}

var currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)

func parseFX(c *checker, data []byte) *FXTable {
	top := parseDoc(c, data)
	if top == nil {
		return nil
	}
	fs, order := fields(c, top, "")
	unknownKeys(c, fs, order, "", "version", "usd_per_unit")
	fx := &FXTable{USDPerUnit: map[string]json.Number{}, Version: 1}
	if f, ok := fs["version"]; ok {
		n, isInt := intValue(f.value)
		if !isInt || n < 1 {
			c.add(f.value, "version", "range", "must be a positive integer")
		} else {
			fx.Version = n
		}
	}
	f, ok := fs["usd_per_unit"]
	if !ok {
		c.add(top, "", "required", "missing usd_per_unit (a mapping from ISO 4217 code to the USD value of one unit)")
		return nil
	}
	m, ok := f.value.(*ast.MappingNode)
	if !ok {
		if mv, ok2 := f.value.(*ast.MappingValueNode); ok2 {
			m = &ast.MappingNode{BaseNode: &ast.BaseNode{}, Start: mv.GetToken(), Values: []*ast.MappingValueNode{mv}}
		} else {
			c.add(f.value, "usd_per_unit", "type", "must be a mapping such as {USD: 1, EUR: 1.08}")
			return nil
		}
	}
	rates, rorder := fields(c, m, "usd_per_unit")
	for _, code := range rorder {
		rf := rates[code]
		p := "usd_per_unit." + code
		if !currencyRE.MatchString(code) {
			c.add(rf.key, p, "iso4217", "%q is not an ISO 4217 code (three capital letters)", code)
			continue
		}
		num, ok := number(rf.value)
		v, _ := strconv.ParseFloat(string(num), 64)
		if !ok || v <= 0 {
			c.add(rf.value, p, "range", "must be a positive number, got %s", rf.value.String())
			continue
		}
		if code == "USD" && v != 1 {
			c.add(rf.value, p, "range", "one USD is worth 1 USD, got %s", num)
			continue
		}
		fx.USDPerUnit[code] = num
	}
	for _, code := range RequiredCurrencies {
		if _, ok := rates[code]; !ok {
			c.add(m, "usd_per_unit", "required", "currency %s is missing: transactions in %s could not be converted to USD", code, code)
		}
	}
	return fx
}

func intValue(n ast.Node) (int64, bool) {
	iv, ok := n.(*ast.IntegerNode)
	if !ok {
		return 0, false
	}
	switch v := iv.Value.(type) {
	case int64:
		return v, true
	case uint64:
		if v <= 1<<62 {
			return int64(v), true
		}
	}
	return 0, false
}

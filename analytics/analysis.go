package analytics

import (
	"bufio"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Param is one declared parameter of an analysis.
type Param struct {
	Name    string
	Type    string // one of Types
	Default string // SQL expression; "" = required
}

// Analysis is one saved .sql file.
type Analysis struct {
	Name        string
	Description string
	Params      []Param
	File        string
	SQL         string // the whole file, header comments included
}

var (
	headerRE = regexp.MustCompile(`^--\s*(name|description|param)\s*:\s*(.*)$`)
	paramRE  = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)\s+([A-Za-z]+)(?:\s+default\s+(.+))?$`)
	nameRE   = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// Parse reads an analysis: its leading comment lines are the header, e.g.
//
//	-- name: daily_volume
//	-- description: Transactions and volume per day, currency and type
//	-- param: from date default current_date - INTERVAL 7 DAY
//
// More description lines may follow as "--   text".
func Parse(file, text string) (Analysis, error) {
	a := Analysis{File: file, SQL: text}
	sc := bufio.NewScanner(strings.NewReader(text))
	lineNo := 0
	lastWasDesc := false
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if !strings.HasPrefix(line, "--") {
			break
		}
		m := headerRE.FindStringSubmatch(line)
		if m == nil {
			if lastWasDesc {
				if more := strings.TrimSpace(strings.TrimPrefix(line, "--")); more != "" {
					a.Description += " " + more
				}
			}
			continue
		}
		lastWasDesc = m[1] == "description"
		val := strings.TrimSpace(m[2])
		switch m[1] {
		case "name":
			if !nameRE.MatchString(val) {
				return a, fmt.Errorf("%s:%d: name %q: use lower-case letters, digits and _", file, lineNo, val)
			}
			a.Name = val
		case "description":
			a.Description = val
		case "param":
			pm := paramRE.FindStringSubmatch(val)
			if pm == nil {
				return a, fmt.Errorf("%s:%d: param %q: write '-- param: NAME TYPE [default SQL]'", file, lineNo, val)
			}
			typ, ok := NormalizeType(pm[2])
			if !ok {
				return a, fmt.Errorf("%s:%d: param %s: unknown type %q (want one of %s)", file, lineNo, pm[1], pm[2], strings.Join(Types, ", "))
			}
			for _, p := range a.Params {
				if p.Name == pm[1] {
					return a, fmt.Errorf("%s:%d: param %s declared twice", file, lineNo, pm[1])
				}
			}
			a.Params = append(a.Params, Param{Name: pm[1], Type: typ, Default: strings.TrimSpace(pm[3])})
		}
	}
	if a.Name == "" {
		a.Name = strings.TrimSuffix(path.Base(file), ".sql")
	}
	declared := map[string]bool{}
	for _, p := range a.Params {
		declared[p.Name] = true
	}
	for _, used := range Placeholders(text) {
		if !declared[used] {
			return a, fmt.Errorf("%s: uses :%s but declares no '-- param: %s TYPE'", file, used, used)
		}
	}
	return a, nil
}

// Load reads every *.sql of fsys (a directory or the embedded copy).
func Load(fsys fs.FS) ([]Analysis, error) {
	files, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	var out []Analysis
	names := map[string]string{}
	for _, f := range files {
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		a, err := Parse(f, string(b))
		if err != nil {
			return nil, err
		}
		if prev, dup := names[a.Name]; dup {
			return nil, fmt.Errorf("analysis %q is defined by both %s and %s", a.Name, prev, f)
		}
		names[a.Name] = f
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Find gives the analysis called name.
func Find(all []Analysis, name string) (Analysis, error) {
	var names []string
	for _, a := range all {
		if a.Name == name {
			return a, nil
		}
		names = append(names, a.Name)
	}
	return Analysis{}, fmt.Errorf("no analysis %q; available: %s (see lakectl analyses)", name, strings.Join(names, ", "))
}

// Render gives the SQL to run: user values (validated against the declared
// types) or the defaults substituted for every parameter.
func (a Analysis) Render(values map[string]string, now time.Time) (string, error) {
	lits := map[string]string{}
	declared := map[string]Param{}
	for _, p := range a.Params {
		declared[p.Name] = p
	}
	for k := range values {
		if _, ok := declared[k]; !ok {
			var names []string
			for _, p := range a.Params {
				names = append(names, p.Name)
			}
			return "", fmt.Errorf("%s has no parameter %q (it has: %s)", a.Name, k, strings.Join(names, ", "))
		}
	}
	var missing []string
	for _, p := range a.Params {
		v, given := values[p.Name]
		switch {
		case given:
			lit, err := Literal(p.Type, v, now)
			if err != nil {
				return "", fmt.Errorf("--param %s (%s): %w", p.Name, p.Type, err)
			}
			lits[p.Name] = lit
		case p.Default != "":
			if p.Type == "asof" {
				lit, err := Literal(p.Type, p.Default, now)
				if err != nil {
					return "", fmt.Errorf("%s: default of %s: %w", a.File, p.Name, err)
				}
				lits[p.Name] = lit
			} else {
				lits[p.Name] = "(" + p.Default + ")"
			}
		default:
			missing = append(missing, p.Name)
		}
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("%s needs --param %s=VALUE (%s)", a.Name, missing[0], strings.Join(missing, ", "))
	}
	return Substitute(a.SQL, lits)
}

// ParseParams reads repeated --param name=value flags.
func ParseParams(flags []string) (map[string]string, error) {
	out := map[string]string{}
	for _, f := range flags {
		k, v, ok := strings.Cut(f, "=")
		k = strings.TrimSpace(k)
		if !ok || !nameRE.MatchString(strings.ToLower(k)) {
			return nil, fmt.Errorf("--param %q: write name=value", f)
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("--param %s given twice", k)
		}
		out[k] = v
	}
	return out, nil
}

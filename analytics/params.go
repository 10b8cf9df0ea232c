// Package analytics owns saved analyses (analytics/queries/*.sql): their
// header (name, description, typed parameters with defaults) and the safe
// substitution of :name parameters into SQL.
//
// Parameters become typed SQL literals on the client rather than Flight SQL
// bound parameters: the value is parsed as its declared type first (a date
// must be a date, an integer an integer) and strings are quoted with ”
// doubling, so a value can never become SQL. Literals also work where bound
// parameters cannot go, such as FOR VERSION AS OF, and keep the query text
// the server logs complete. Defaults in a header are SQL expressions written
// by the analysis author (current_date - INTERVAL 7 DAY), never user input.
package analytics

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/finlake/finlake/flight/client"
)

// Types a parameter may declare.
var Types = []string{"date", "timestamp", "bigint", "double", "varchar", "boolean", "asof"}

var typeAliases = map[string]string{
	"date": "date", "timestamp": "timestamp", "timestamptz": "timestamp",
	"int": "bigint", "integer": "bigint", "bigint": "bigint",
	"double": "double", "decimal": "double", "number": "double", "float": "double",
	"varchar": "varchar", "string": "varchar", "text": "varchar",
	"bool": "boolean", "boolean": "boolean",
	"asof": "asof", "snapshot": "asof",
}

// NormalizeType maps a declared type to one of Types.
func NormalizeType(t string) (string, bool) {
	n, ok := typeAliases[strings.ToLower(t)]
	return n, ok
}

var (
	intRE = regexp.MustCompile(`^[+-]?[0-9]+$`)
	numRE = regexp.MustCompile(`^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$`)
)

// Literal renders a user-supplied value of the declared type as a SQL
// literal, or says why the value is not of that type.
func Literal(typ, value string, now time.Time) (string, error) {
	switch typ {
	case "date":
		v := strings.TrimSpace(value)
		switch strings.ToLower(v) {
		case "today":
			return "DATE '" + now.UTC().Format("2006-01-02") + "'", nil
		case "yesterday":
			return "DATE '" + now.UTC().AddDate(0, 0, -1).Format("2006-01-02") + "'", nil
		}
		if d, err := time.Parse("2006-01-02", v); err == nil {
			return "DATE '" + d.Format("2006-01-02") + "'", nil
		}
		return "", fmt.Errorf("%q is not a date: write YYYY-MM-DD, today or yesterday", value)
	case "timestamp":
		ts, err := client.ResolveAsOf(value, now)
		if err != nil || intRE.MatchString(strings.TrimSpace(value)) {
			return "", fmt.Errorf("%q is not a timestamp: write RFC 3339 (2026-11-26T01:00:00Z) or relative (-15m, -2h, -1d)", value)
		}
		return "TIMESTAMPTZ '" + ts + "'", nil
	case "bigint":
		v := strings.TrimSpace(value)
		if !intRE.MatchString(v) {
			return "", fmt.Errorf("%q is not an integer", value)
		}
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			return "", fmt.Errorf("%q is out of range for a 64-bit integer", value)
		}
		return strings.TrimPrefix(v, "+"), nil
	case "double":
		v := strings.TrimSpace(value)
		if !numRE.MatchString(v) {
			return "", fmt.Errorf("%q is not a number (digits with an optional decimal point)", value)
		}
		return strings.TrimPrefix(v, "+"), nil
	case "boolean":
		switch strings.ToLower(strings.TrimSpace(value)) {
		case "true", "yes", "1":
			return "TRUE", nil
		case "false", "no", "0":
			return "FALSE", nil
		}
		return "", fmt.Errorf("%q is not a boolean: write true or false", value)
	case "varchar":
		if strings.ContainsRune(value, 0) {
			return "", fmt.Errorf("strings may not contain NUL bytes")
		}
		return QuoteString(value), nil
	case "asof":
		// Expands to a whole time-travel clause: FROM lake.t :before.
		v := strings.TrimSpace(value)
		if strings.EqualFold(v, "current") || strings.EqualFold(v, "latest") {
			return "", nil // no clause: the current snapshot (or the query's --as-of)
		}
		if intRE.MatchString(v) && !strings.HasPrefix(v, "-") {
			return "FOR VERSION AS OF " + strings.TrimPrefix(v, "+"), nil
		}
		ts, err := client.ResolveAsOf(v, now)
		if err != nil {
			return "", fmt.Errorf("%q is neither a snapshot id nor a time (RFC 3339 or relative such as -1h)", value)
		}
		return "FOR TIMESTAMP AS OF TIMESTAMPTZ '" + ts + "'", nil
	}
	return "", fmt.Errorf("unknown parameter type %q (want one of %s)", typ, strings.Join(Types, ", "))
}

// InferType types an ad-hoc query parameter by its look: integers, decimal
// numbers and true/false as such, anything else as a string.
func InferType(value string) string {
	v := strings.TrimSpace(value)
	switch {
	case intRE.MatchString(v):
		return "bigint"
	case numRE.MatchString(v):
		return "double"
	case strings.EqualFold(v, "true") || strings.EqualFold(v, "false"):
		return "boolean"
	}
	return "varchar"
}

// QuoteString gives a SQL string literal; ” doubling is the only escape in
// standard SQL strings (DuckDB does not treat backslashes specially).
func QuoteString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// Substitute replaces every :name outside strings, quoted identifiers and
// comments by values[name]. A :name without a value is an error naming it;
// '::' casts are left alone.
func Substitute(sql string, values map[string]string) (string, error) {
	var missing []string
	seen := map[string]bool{}
	out := scan(sql, func(name string) string {
		v, ok := values[name]
		if !ok && !seen[name] {
			missing = append(missing, name)
			seen[name] = true
		}
		return v
	})
	if len(missing) > 0 {
		sort.Strings(missing)
		return "", fmt.Errorf("no value for parameter(s) %s: pass --param %s=VALUE", strings.Join(missing, ", "), missing[0])
	}
	return out, nil
}

// Placeholders lists the :names used in sql, in order of first use.
func Placeholders(sql string) []string {
	var names []string
	seen := map[string]bool{}
	scan(sql, func(name string) string {
		if !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
		return ""
	})
	return names
}

// scan copies sql, replacing each :name placeholder by repl(name).
func scan(sql string, repl func(string) string) string {
	var b strings.Builder
	n := len(sql)
	for i := 0; i < n; {
		c := sql[i]
		switch {
		case c == '\'' || c == '"':
			j := i + 1
			for j < n {
				if sql[j] == c {
					if j+1 < n && sql[j+1] == c { // doubled quote inside
						j += 2
						continue
					}
					break
				}
				j++
			}
			end := min(j+1, n)
			b.WriteString(sql[i:end])
			i = end
		case c == '-' && i+1 < n && sql[i+1] == '-':
			j := strings.IndexByte(sql[i:], '\n')
			if j < 0 {
				j = n - i
			}
			b.WriteString(sql[i : i+j])
			i += j
		case c == '/' && i+1 < n && sql[i+1] == '*':
			j := strings.Index(sql[i+2:], "*/")
			end := n
			if j >= 0 {
				end = i + 2 + j + 2
			}
			b.WriteString(sql[i:end])
			i = end
		case c == ':' && i+1 < n && sql[i+1] == ':':
			b.WriteString("::")
			i += 2
		case c == ':' && i+1 < n && isIdentStart(sql[i+1]) && (i == 0 || !isIdentPart(sql[i-1])):
			j := i + 1
			for j < n && isIdentPart(sql[j]) {
				j++
			}
			b.WriteString(repl(sql[i+1 : j]))
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

func isIdentStart(c byte) bool { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
func isIdentPart(c byte) bool  { return isIdentStart(c) || (c >= '0' && c <= '9') }

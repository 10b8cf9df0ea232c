package sqlrewrite

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// AsOfKind says how a table reference is pinned in time.
type AsOfKind int

// Pin kinds.
const (
	Current   AsOfKind = iota // no clause: the current snapshot (or the query's pin)
	Timestamp                 // FOR TIMESTAMP AS OF
	Version                   // FOR VERSION AS OF
)

// AsOf is a point in a table's history.
type AsOf struct {
	Kind    AsOfKind
	Time    time.Time
	Version int64
}

func (a AsOf) String() string {
	switch a.Kind {
	case Timestamp:
		return "timestamp " + a.Time.UTC().Format(time.RFC3339Nano)
	case Version:
		return "version " + strconv.FormatInt(a.Version, 10)
	}
	return "current"
}

// ParseAsOf reads an RFC 3339 timestamp (or a SQL timestamp text) or a
// snapshot id, as given in the x-finlake-as-of header.
func ParseAsOf(s string) (AsOf, error) {
	s = strings.TrimSpace(s)
	if id, err := strconv.ParseInt(s, 10, 64); err == nil {
		return AsOf{Kind: Version, Version: id}, nil
	}
	t, err := ParseTimestamp(s)
	if err != nil {
		return AsOf{}, fmt.Errorf("as-of %q is neither a snapshot id nor a timestamp (RFC 3339, e.g. 2026-11-26T01:00:00Z)", s)
	}
	return AsOf{Kind: Timestamp, Time: t}, nil
}

var tsLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999Z07",
	"2006-01-02 15:04:05.999999999-0700",
	"2006-01-02T15:04:05.999999999Z07",
	"2006-01-02 15:04:05.999999999 MST",
}

var naiveLayouts = []string{
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04",
	"2006-01-02",
}

// ParseTimestamp reads a timestamp with or without zone; without one it is UTC.
func ParseTimestamp(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range tsLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	for _, l := range naiveLayouts {
		if t, err := time.ParseInLocation(l, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("cannot parse timestamp %q", s)
}

// Ref is one reference to a lake table found in a query.
type Ref struct {
	Qualified bool   // written with the lake (and catalog) prefix
	Table     string // base table name, lower case
	Meta      string // "", "snapshots", "history" or "files"
	AsOf      AsOf
	Alias     bool // the query gives the reference its own alias
	Wrap      bool // DESCRIBE/SUMMARIZE <table>: render as a SELECT over it
	start     int  // first token
	end       int  // one past the last token replaced (name and time-travel clause)
}

// Name is how the reference appears as a default alias.
func (r Ref) Name() string {
	if r.Meta != "" {
		return r.Table + "$" + r.Meta
	}
	return r.Table
}

// MetaTables are the metadata tables every lake table has.
var MetaTables = []string{"snapshots", "history", "files"}

// Catalog tells the rewriter which names are lake tables.
type Catalog interface {
	Namespace() string         // "lake"
	CatalogName() string       // "finlake"
	HasTable(name string) bool // name lower case
}

// ErrUnknownTable marks a qualified reference to a table the lake lacks.
var ErrUnknownTable = errors.New("unknown table")

// reserved words that cannot be a table alias (what may follow a table
// reference in a FROM clause).
var reserved = toSet(`WHERE GROUP HAVING QUALIFY WINDOW ORDER LIMIT OFFSET UNION INTERSECT EXCEPT SELECT
	JOIN INNER LEFT RIGHT FULL CROSS NATURAL OUTER ON USING POSITIONAL ASOF ANTI SEMI LATERAL TABLESAMPLE
	PIVOT UNPIVOT FOR FETCH RETURNING INTO FROM WITH VALUES AND OR NOT IS IN AS BY`)

// clauseEnd are words that end a FROM clause at the same nesting depth.
var clauseEnd = toSet(`WHERE GROUP HAVING QUALIFY WINDOW ORDER LIMIT OFFSET UNION INTERSECT EXCEPT SELECT RETURNING`)

func toSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

// Query is a tokenized query with its lake table references.
type Query struct {
	Tokens []Token
	Refs   []Ref
	// Foreign is what else the query reads in table position: table
	// functions (read_parquet, query, glob ...), string literals (DuckDB reads
	// them as file names), names that are neither lake tables nor CTEs, and
	// the keywords that read a relation without FROM (TABLE x, SUMMARIZE x,
	// SHOW, PIVOT ...). A reader may use them (the DuckDB sandbox bounds
	// them); a share session may not (see flight/share).
	Foreign []Foreign
}

// Foreign is one thing a query reads besides lake tables and its own CTEs.
type Foreign struct {
	What string // as written
	Why  string // "table function", "file name", "not a lake table", "keyword"
}

// harmlessFunctions are the table functions that read nothing but their
// arguments.
var harmlessFunctions = toSet(`RANGE GENERATE_SERIES UNNEST`)

// relationWords read a relation without a FROM: TABLE x is SELECT * FROM x,
// SUMMARIZE x inside a subquery reads x's extremes.
var relationWords = toSet(`TABLE SHOW SUMMARIZE DESCRIBE PIVOT UNPIVOT PIVOT_WIDER PIVOT_LONGER EXPLAIN`)

// Parse tokenizes sql and finds its lake table references. Only names in
// table position (after FROM, JOIN, or a comma in a FROM list) are
// considered; a bare name counts when the lake has such a table and the query
// does not define a CTE of that name.
func Parse(sql string, cat Catalog) (*Query, error) {
	toks, err := Tokenize(sql)
	if err != nil {
		return nil, err
	}
	sig := significant(toks)
	ctes := cteNames(toks, sig)
	q := &Query{Tokens: toks}

	type frame struct{ inFrom, expect bool }
	stack := []frame{{}}
	foreign := func(what, why string) { q.Foreign = append(q.Foreign, Foreign{What: what, Why: why}) }
	for k := 0; k < len(sig); k++ {
		t := toks[sig[k]]
		top := &stack[len(stack)-1]
		if t.Kind == Word && relationWords[t.Upper()] && !(k == 0 && t.Upper() != "TABLE") {
			foreign(t.Text, "keyword")
		}
		if t.Kind == String && top.expect {
			foreign(t.Text, "file name")
		}
		if t.Kind == Punct {
			switch t.Text {
			case "(":
				// A parenthesis in table position opens a subquery or a
				// parenthesized join, whose first name is in table position too.
				inner := frame{inFrom: top.expect, expect: top.expect}
				top.expect = false
				stack = append(stack, inner)
			case ")":
				if len(stack) > 1 {
					stack = stack[:len(stack)-1]
				}
			case ",":
				if top.inFrom {
					top.expect = true
				}
			case ";":
				*top = frame{}
			default:
				top.expect = false
			}
			continue
		}
		if t.Kind == Word {
			u := t.Upper()
			if k == 0 && (u == "DESCRIBE" || u == "SUMMARIZE") {
				top.expect = true
				continue
			}
			switch {
			case u == "FROM":
				top.inFrom, top.expect = true, true
				continue
			case u == "JOIN":
				if top.inFrom {
					top.expect = true
				}
				continue
			case u == "LATERAL" && top.expect:
				continue
			case clauseEnd[u]:
				top.inFrom, top.expect = false, false
				continue
			}
		}
		if !top.expect || (t.Kind != Word && t.Kind != QuotedIdent) || (t.Kind == Word && reserved[t.Upper()]) {
			top.expect = false
			continue
		}
		top.expect = false
		// A (possibly qualified) name in table position.
		parts := []string{t.Name()}
		last := k
		for last+2 < len(sig) && toks[sig[last+1]].Text == "." &&
			(toks[sig[last+2]].Kind == Word || toks[sig[last+2]].Kind == QuotedIdent) {
			parts = append(parts, toks[sig[last+2]].Name())
			last += 2
		}
		if last+1 < len(sig) && toks[sig[last+1]].Text == "(" {
			if len(parts) > 1 || !harmlessFunctions[strings.ToUpper(parts[0])] {
				foreign(strings.Join(parts, "."), "table function")
			}
			k = last // a table function
			continue
		}
		ref, ok, err := classifyName(parts, cat, ctes)
		if err != nil {
			return nil, err
		}
		if !ok {
			if len(parts) > 1 || !ctes[strings.ToLower(parts[0])] && !ctes[parts[0]] {
				foreign(strings.Join(parts, "."), "not a lake table")
			}
			k = last
			continue
		}
		ref.start = sig[k]
		ref.Wrap = k == 1
		next := last + 1
		if asOf, n, err := parseTimeTravel(toks, sig, next); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrSyntax, ref.Name(), err)
		} else if n > next {
			ref.AsOf = asOf
			next = n
		}
		ref.end = sig[next-1] + 1
		if next < len(sig) {
			a := toks[sig[next]]
			ref.Alias = a.Kind == QuotedIdent || (a.Kind == Word && (a.Upper() == "AS" || !reserved[a.Upper()]))
		}
		q.Refs = append(q.Refs, ref)
		k = next - 1
	}
	return q, nil
}

func classifyName(parts []string, cat Catalog, ctes map[string]bool) (Ref, bool, error) {
	var ref Ref
	switch len(parts) {
	case 1:
	case 2:
		if parts[0] != cat.Namespace() {
			return ref, false, nil
		}
		ref.Qualified = true
	case 3:
		if parts[0] != cat.CatalogName() || parts[1] != cat.Namespace() {
			return ref, false, nil
		}
		ref.Qualified = true
	default:
		return ref, false, nil
	}
	name := strings.ToLower(parts[len(parts)-1])
	if i := strings.LastIndexByte(name, '$'); i > 0 {
		meta := name[i+1:]
		known := false
		for _, m := range MetaTables {
			known = known || m == meta
		}
		if !known {
			if ref.Qualified {
				return ref, false, fmt.Errorf("%w: %s.%s: metadata tables are $%s", ErrUnknownTable, cat.Namespace(), name, strings.Join(MetaTables, ", $"))
			}
			return ref, false, nil
		}
		ref.Meta, name = meta, name[:i]
	}
	ref.Table = name
	if !cat.HasTable(name) {
		if ref.Qualified {
			return ref, false, fmt.Errorf("%w: %s.%s does not exist", ErrUnknownTable, cat.Namespace(), name)
		}
		return ref, false, nil
	}
	if !ref.Qualified && ref.Meta == "" && ctes[name] {
		return ref, false, nil
	}
	return ref, true, nil
}

// parseTimeTravel reads FOR TIMESTAMP|SYSTEM_TIME AS OF <ts> or FOR
// VERSION|SYSTEM_VERSION AS OF <id> at significant position k; it returns the
// position after the clause (k when there is none).
func parseTimeTravel(toks []Token, sig []int, k int) (AsOf, int, error) {
	at := func(i int) Token {
		if i < len(sig) {
			return toks[sig[i]]
		}
		return Token{}
	}
	if at(k).Upper() != "FOR" {
		return AsOf{}, k, nil
	}
	kind := at(k + 1).Upper()
	if at(k+2).Upper() != "AS" || at(k+3).Upper() != "OF" {
		return AsOf{}, k, fmt.Errorf("time travel is FOR TIMESTAMP AS OF TIMESTAMP '...' or FOR VERSION AS OF <snapshot id>")
	}
	v := k + 4
	switch kind {
	case "TIMESTAMP", "SYSTEM_TIME":
		if w := at(v); w.Kind == Word && (w.Upper() == "TIMESTAMP" || w.Upper() == "TIMESTAMPTZ" || w.Upper() == "DATE") {
			v++
			if at(v).Upper() == "WITH" && at(v+1).Upper() == "TIME" && at(v+2).Upper() == "ZONE" {
				v += 3
			}
		}
		lit := at(v)
		if lit.Kind != String {
			return AsOf{}, k, fmt.Errorf("FOR TIMESTAMP AS OF needs a timestamp literal, e.g. TIMESTAMP '2026-11-26 01:00:00+00'")
		}
		ts, err := ParseTimestamp(lit.StringValue())
		if err != nil {
			return AsOf{}, k, err
		}
		return AsOf{Kind: Timestamp, Time: ts}, v + 1, nil
	case "VERSION", "SYSTEM_VERSION":
		lit := at(v)
		text := lit.Text
		if lit.Kind == String {
			text = lit.StringValue()
		} else if lit.Kind != Number {
			return AsOf{}, k, fmt.Errorf("FOR VERSION AS OF needs a snapshot id (a number)")
		}
		id, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return AsOf{}, k, fmt.Errorf("FOR VERSION AS OF %s: not a snapshot id", lit.Text)
		}
		return AsOf{Kind: Version, Version: id}, v + 1, nil
	}
	return AsOf{}, k, fmt.Errorf("time travel is FOR TIMESTAMP AS OF or FOR VERSION AS OF, not FOR %s", kind)
}

// cteNames collects the names a WITH clause defines: name AS ( or
// name (cols) AS (.
func cteNames(toks []Token, sig []int) map[string]bool {
	m := map[string]bool{}
	for k := 0; k < len(sig); k++ {
		t := toks[sig[k]]
		if t.Kind != Word && t.Kind != QuotedIdent {
			continue
		}
		j := k + 1
		if j < len(sig) && toks[sig[j]].Text == "(" {
			depth := 0
			for ; j < len(sig); j++ {
				switch toks[sig[j]].Text {
				case "(":
					depth++
				case ")":
					depth--
				}
				if depth == 0 {
					break
				}
			}
			j++
		}
		if j+1 < len(sig) && toks[sig[j]].Upper() == "AS" {
			n := j + 1
			if toks[sig[n]].Upper() == "NOT" {
				n++
			}
			if n < len(sig) && toks[sig[n]].Upper() == "MATERIALIZED" {
				n++
			}
			if n < len(sig) && toks[sig[n]].Text == "(" {
				m[t.Name()] = true
			}
		}
	}
	return m
}

// Render writes the query back with each reference replaced by repl(i, ref)
// (a table expression); references without an alias get their name as alias
// so qualified column names keep working.
func (q *Query) Render(repl func(i int, r Ref) (string, error)) (string, error) {
	r, err := q.RenderMapped(repl)
	return r.SQL, err
}

// Rendered is a rewritten query with the way back to the original text.
type Rendered struct {
	SQL   string
	spans []span // in order of SQL offset
}

// span is a stretch of the rewritten text: a copy of the original from
// offset orig, or (replaced) a table reference's SQL standing for the
// reference that starts at orig.
type span struct {
	at, n, orig int
	replaced    bool
}

// Original maps a byte offset in the rewritten SQL to the original text: the
// same character where it was copied, the start of the table reference where
// it falls into a reference's replacement.
func (r Rendered) Original(pos int) int {
	orig := 0
	for _, s := range r.spans {
		if pos < s.at {
			break
		}
		if s.replaced {
			orig = s.orig
		} else {
			orig = s.orig + min(pos-s.at, s.n)
		}
	}
	return orig
}

// RenderMapped is Render keeping the map from the rewritten text back to the
// original, so errors about the rewritten query can point into the user's.
func (q *Query) RenderMapped(repl func(i int, r Ref) (string, error)) (Rendered, error) {
	var b strings.Builder
	var spans []span
	copyTo := func(pos, end int) {
		for ; pos < end; pos++ {
			t := q.Tokens[pos]
			spans = append(spans, span{at: b.Len(), n: len(t.Text), orig: t.Pos})
			b.WriteString(t.Text)
		}
	}
	pos := 0
	for i, r := range q.Refs {
		copyTo(pos, r.start)
		s, err := repl(i, r)
		if err != nil {
			return Rendered{}, err
		}
		at := b.Len()
		if r.Wrap {
			b.WriteString("SELECT * FROM ")
		}
		b.WriteString(s)
		if !r.Alias {
			b.WriteString(" AS ")
			b.WriteString(QuoteIdent(r.Name()))
		}
		spans = append(spans, span{at: at, n: b.Len() - at, orig: q.Tokens[r.start].Pos, replaced: true})
		pos = r.end
	}
	copyTo(pos, len(q.Tokens))
	return Rendered{SQL: b.String(), spans: spans}, nil
}

// QuoteIdent renders an identifier in double quotes.
func QuoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// QuoteString renders a SQL string literal.
func QuoteString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

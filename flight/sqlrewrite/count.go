package sqlrewrite

import "strings"

// CountStar recognizes SELECT count(*) [[AS] alias] FROM <table> [[AS] alias]
// [;], a count of every row of one lake table with no filter, grouping or
// limit, and gives the result column's name as DuckDB would name it. Such a
// query can be answered from the snapshot's metadata.
func (q *Query) CountStar() (name string, ok bool) {
	sel, ok := q.selectOneTable()
	if !ok || len(sel) < 4 || sel[0].Upper() != "COUNT" || sel[1].Text != "(" || sel[2].Text != "*" || sel[3].Text != ")" {
		return "", false
	}
	name = "count_star()"
	switch alias := sel[4:]; {
	case len(alias) == 0:
	case len(alias) == 1 && isName(alias[0]) && !reserved[alias[0].Upper()]:
		name = aliasName(alias[0])
	case len(alias) == 2 && alias[0].Upper() == "AS" && isName(alias[1]):
		name = aliasName(alias[1])
	default:
		return "", false
	}
	return name, true
}

// MinMax recognizes SELECT min(c) [[AS] alias], max(d) ... FROM <table>
// [[AS] alias] [;]: only min and max of plain columns (optionally qualified)
// of one lake table, with no filter, grouping or limit. Such a query gives the
// same answer over any relation holding each column's smallest and largest
// value, which the snapshot's metadata may tell. cols are the columns named,
// each once, as written.
func (q *Query) MinMax() (cols []string, ok bool) {
	sel, ok := q.selectOneTable()
	if !ok || len(sel) == 0 {
		return nil, false
	}
	seen := map[string]bool{}
	for len(sel) > 0 {
		// min ( [qualifier .] col ) [[AS] alias] [,]
		if len(sel) < 4 || (sel[0].Upper() != "MIN" && sel[0].Upper() != "MAX") || sel[0].Kind != Word || sel[1].Text != "(" {
			return nil, false
		}
		arg := sel[2:]
		if len(arg) >= 4 && isName(arg[0]) && arg[1].Text == "." {
			arg = arg[2:]
		}
		if !isName(arg[0]) || arg[1].Text != ")" {
			return nil, false
		}
		col := arg[0].Name()
		if arg[0].Kind == Word {
			col = arg[0].Text
		}
		if !seen[strings.ToLower(col)] {
			seen[strings.ToLower(col)] = true
			cols = append(cols, col)
		}
		sel = arg[2:]
		switch {
		case len(sel) >= 2 && sel[0].Upper() == "AS" && isName(sel[1]):
			sel = sel[2:]
		case len(sel) >= 1 && isName(sel[0]) && !reserved[sel[0].Upper()] && !afterCall[sel[0].Upper()]:
			sel = sel[1:]
		}
		if len(sel) > 0 {
			if sel[0].Text != "," || len(sel) == 1 {
				return nil, false
			}
			sel = sel[1:]
		}
	}
	return cols, true
}

// afterCall are words that may follow an aggregate call and change it
// (min(x) OVER (), FILTER (WHERE ...), WITHIN GROUP): never an alias here.
var afterCall = toSet(`OVER FILTER WITHIN IGNORE RESPECT`)

func isName(t Token) bool { return t.Kind == Word || t.Kind == QuotedIdent }

func aliasName(t Token) string {
	if t.Kind == QuotedIdent {
		return t.Name()
	}
	return t.Text
}

// selectOneTable gives the select list of SELECT <list> FROM <table>
// [[AS] alias] [;] when the query is that and nothing more (one lake table,
// no metadata table, no clause after the FROM): its significant tokens.
func (q *Query) selectOneTable() ([]Token, bool) {
	if len(q.Refs) != 1 || q.Refs[0].Meta != "" || q.Refs[0].Wrap {
		return nil, false
	}
	ref := q.Refs[0]
	var sig []Token
	from := -1
	for i, t := range q.Tokens {
		if !t.Significant() {
			continue
		}
		if i == ref.start {
			from = len(sig) - 1
		}
		if i >= ref.start && i < ref.end {
			continue
		}
		sig = append(sig, t)
	}
	if from < 2 || sig[0].Upper() != "SELECT" || sig[from].Upper() != "FROM" {
		return nil, false
	}
	// A FROM inside the select list ((SELECT ... FROM ...) or
	// extract(x FROM y)) would not be the query's own.
	for _, t := range sig[1:from] {
		if t.Kind == Word && (t.Upper() == "FROM" || t.Upper() == "SELECT") {
			return nil, false
		}
	}
	rest := sig[from+1:]
	switch {
	case len(rest) >= 2 && rest[0].Upper() == "AS" && isName(rest[1]):
		rest = rest[2:]
	case len(rest) >= 1 && ref.Alias && isName(rest[0]):
		rest = rest[1:]
	}
	if len(rest) > 0 && rest[len(rest)-1].Text == ";" {
		rest = rest[:len(rest)-1]
	}
	if len(rest) > 0 {
		return nil, false
	}
	return sig[1:from], true
}

package sqlrewrite

// Column is one result column of a plain projection: every column of the
// table (Star) or the table column of that name.
type Column struct {
	Star bool
	Name string
}

// Projection recognizes a query that only projects and filters one lake
// table, SELECT [DISTINCT] <*, t.*, col, t.col [[AS] alias], ...> FROM <table>
// [[AS] alias] [WHERE ...] [ORDER BY ...] [LIMIT ...] [OFFSET ...], and gives
// where each result column comes from. Such a result has no NULL the table
// does not have, so a caller may keep the table's NOT NULL columns. Anything
// else (expressions, joins, grouping, set operations) reports false.
func (q *Query) Projection() ([]Column, bool) {
	if len(q.Refs) != 1 || q.Refs[0].Meta != "" || q.Refs[0].Wrap {
		return nil, false
	}
	ref := q.Refs[0]
	var sig []Token
	from := -1 // index in sig of the FROM before the reference
	for i, t := range q.Tokens {
		if !t.Significant() {
			continue
		}
		if i == ref.start {
			from = len(sig) - 1
		}
		if i >= ref.start && i < ref.end {
			continue // the reference itself
		}
		sig = append(sig, t)
	}
	if from < 1 || sig[0].Upper() != "SELECT" || sig[from].Upper() != "FROM" {
		return nil, false
	}
	items := sig[1:from]
	if len(items) > 0 && items[0].Upper() == "DISTINCT" {
		items = items[1:]
	}
	rest := sig[from+1:]
	qualifier := ref.Table
	if len(rest) > 0 && rest[0].Upper() == "AS" {
		rest = rest[1:]
		if len(rest) == 0 {
			return nil, false
		}
		qualifier, rest = rest[0].Name(), rest[1:]
	} else if ref.Alias {
		qualifier, rest = rest[0].Name(), rest[1:]
	}
	if len(rest) > 0 && rest[len(rest)-1].Text == ";" {
		rest = rest[:len(rest)-1]
	}
	if len(rest) > 0 && !tailKeywords[rest[0].Upper()] {
		return nil, false
	}
	depth := 0
	for _, t := range rest {
		switch {
		case t.Text == "(":
			depth++
		case t.Text == ")":
			depth--
		case depth == 0 && t.Kind == Word && !tailAllowed(t.Upper()):
			return nil, false
		}
	}
	var cols []Column
	for len(items) > 0 {
		end := 0
		for end < len(items) && items[end].Text != "," {
			end++
		}
		c, ok := projectionItem(items[:end], qualifier)
		if !ok {
			return nil, false
		}
		cols = append(cols, c)
		if end == len(items) {
			break
		}
		items = items[end+1:]
		if len(items) == 0 {
			return nil, false
		}
	}
	return cols, len(cols) > 0
}

// tailKeywords may start what follows the table in a plain projection.
var tailKeywords = toSet(`WHERE ORDER LIMIT OFFSET`)

// tailRefused are the words that, outside parentheses, would make the tail
// more than a filter, an order or a limit.
var tailRefused = toSet(`UNION INTERSECT EXCEPT GROUP HAVING WINDOW QUALIFY JOIN USING SAMPLE TABLESAMPLE PIVOT UNPIVOT`)

func tailAllowed(w string) bool { return !tailRefused[w] }

func projectionItem(toks []Token, qualifier string) (Column, bool) {
	isName := func(t Token) bool { return t.Kind == Word || t.Kind == QuotedIdent }
	if len(toks) >= 2 && toks[len(toks)-2].Upper() == "AS" && isName(toks[len(toks)-1]) {
		toks = toks[:len(toks)-2]
	} else if len(toks) == 2 && isName(toks[0]) && isName(toks[1]) && !reserved[toks[1].Upper()] {
		toks = toks[:1]
	} else if len(toks) == 4 && isName(toks[3]) && toks[2].Kind != Punct && !reserved[toks[3].Upper()] {
		toks = toks[:3]
	}
	switch {
	case len(toks) == 1 && toks[0].Text == "*":
		return Column{Star: true}, true
	case len(toks) == 1 && isName(toks[0]) && !reserved[toks[0].Upper()]:
		return Column{Name: toks[0].Name()}, true
	case len(toks) == 3 && isName(toks[0]) && toks[0].Name() == qualifier && toks[1].Text == ".":
		if toks[2].Text == "*" {
			return Column{Star: true}, true
		}
		if isName(toks[2]) {
			return Column{Name: toks[2].Name()}, true
		}
	}
	return Column{}, false
}

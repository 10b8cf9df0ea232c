package sqlrewrite

// CountStar recognizes SELECT count(*) [[AS] alias] FROM <table> [[AS] alias]
// [;], a count of every row of one lake table with no filter, grouping or
// limit, and gives the result column's name as DuckDB would name it. Such a
// query can be answered from the snapshot's metadata.
func (q *Query) CountStar() (name string, ok bool) {
	if len(q.Refs) != 1 || q.Refs[0].Meta != "" || q.Refs[0].Wrap {
		return "", false
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
	if from != 5 && from != 6 && from != 7 {
		return "", false
	}
	if sig[0].Upper() != "SELECT" || sig[1].Upper() != "COUNT" || sig[2].Text != "(" || sig[3].Text != "*" ||
		sig[4].Text != ")" || sig[from].Upper() != "FROM" {
		return "", false
	}
	isName := func(t Token) bool { return t.Kind == Word || t.Kind == QuotedIdent }
	name = "count_star()"
	switch alias := sig[5:from]; {
	case len(alias) == 0:
	case len(alias) == 1 && isName(alias[0]) && !reserved[alias[0].Upper()]:
		name = alias[0].Text
		if alias[0].Kind == QuotedIdent {
			name = alias[0].Name()
		}
	case len(alias) == 2 && alias[0].Upper() == "AS" && isName(alias[1]):
		name = alias[1].Text
		if alias[1].Kind == QuotedIdent {
			name = alias[1].Name()
		}
	default:
		return "", false
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
	return name, len(rest) == 0
}

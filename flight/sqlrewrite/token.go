// Package sqlrewrite owns the SQL text finlake's Flight SQL server rewrites
// before DuckDB sees it: a tokenizer that knows DuckDB's literals, quoted
// identifiers and comments (so they are never rewritten), the discovery of
// lake table references with their Trino/Spark time-travel clauses, and the
// parsing of the one admin statement (ALTER TABLE ... ADD COLUMN).
package sqlrewrite

import (
	"errors"
	"fmt"
	"strings"
)

// Kind is a token's lexical class.
type Kind int

// Token kinds.
const (
	Space       Kind = iota // whitespace
	Comment                 // -- line or /* block */ comment
	Word                    // unquoted identifier or keyword
	QuotedIdent             // "identifier"
	String                  // 'literal', E'literal', $tag$literal$tag$
	Number                  // 42, 4.2e1, 0x2A
	Param                   // $1 or ?
	Punct                   // any other character or operator
)

// Token is one lexical unit; Text is its exact source text.
type Token struct {
	Kind Kind
	Text string
	Pos  int
}

// ErrSyntax marks text the tokenizer cannot split (unterminated literal or comment).
var ErrSyntax = errors.New("SQL syntax error")

// Upper is the token's text upper-cased, for keyword comparison.
func (t Token) Upper() string { return strings.ToUpper(t.Text) }

// Significant reports whether the token matters to the grammar.
func (t Token) Significant() bool { return t.Kind != Space && t.Kind != Comment }

// Name is the identifier a Word or QuotedIdent denotes (lower-cased for
// unquoted words, unescaped for quoted ones).
func (t Token) Name() string {
	switch t.Kind {
	case Word:
		return strings.ToLower(t.Text)
	case QuotedIdent:
		return strings.ReplaceAll(t.Text[1:len(t.Text)-1], `""`, `"`)
	}
	return ""
}

// StringValue is the value of a String token.
func (t Token) StringValue() string {
	s := t.Text
	switch {
	case strings.HasPrefix(s, "$"):
		i := strings.IndexByte(s[1:], '$') + 2
		return s[i : len(s)-i]
	case s[0] == 'E' || s[0] == 'e':
		var b strings.Builder
		body := s[2 : len(s)-1]
		for i := 0; i < len(body); i++ {
			c := body[i]
			if c == '\\' && i+1 < len(body) {
				i++
				c = body[i]
			} else if c == '\'' && i+1 < len(body) {
				i++
			}
			b.WriteByte(c)
		}
		return b.String()
	default:
		if q := strings.IndexByte(s, '\''); q > 0 {
			s = s[q:]
		}
		return strings.ReplaceAll(s[1:len(s)-1], "''", "'")
	}
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80
}

func isIdentPart(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') || c == '$' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// Tokenize splits sql into tokens whose texts concatenate back to sql.
func Tokenize(sql string) ([]Token, error) {
	var toks []Token
	i := 0
	n := len(sql)
	emit := func(k Kind, end int) {
		toks = append(toks, Token{Kind: k, Text: sql[i:end], Pos: i})
		i = end
	}
	for i < n {
		c := sql[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			j := i + 1
			for j < n && strings.IndexByte(" \t\n\r\f\v", sql[j]) >= 0 {
				j++
			}
			emit(Space, j)
		case c == '-' && i+1 < n && sql[i+1] == '-':
			j := strings.IndexByte(sql[i:], '\n')
			if j < 0 {
				emit(Comment, n)
			} else {
				emit(Comment, i+j+1)
			}
		case c == '/' && i+1 < n && sql[i+1] == '*':
			// Block comments nest in DuckDB (as in PostgreSQL).
			depth, j := 1, i+2
			for j < n && depth > 0 {
				switch {
				case strings.HasPrefix(sql[j:], "/*"):
					depth++
					j += 2
				case strings.HasPrefix(sql[j:], "*/"):
					depth--
					j += 2
				default:
					j++
				}
			}
			if depth > 0 {
				return nil, fmt.Errorf("%w: unterminated /* comment starting at offset %d", ErrSyntax, i)
			}
			emit(Comment, j)
		case c == '\'':
			j, err := endQuoted(sql, i+1, '\'', false)
			if err != nil {
				return nil, fmt.Errorf("%w: unterminated string literal starting at offset %d", ErrSyntax, i)
			}
			emit(String, j)
		case (c == 'E' || c == 'e') && i+1 < n && sql[i+1] == '\'':
			j, err := endQuoted(sql, i+2, '\'', true)
			if err != nil {
				return nil, fmt.Errorf("%w: unterminated string literal starting at offset %d", ErrSyntax, i)
			}
			emit(String, j)
		case (c == 'X' || c == 'x' || c == 'B' || c == 'b' || c == 'N' || c == 'n') && i+1 < n && sql[i+1] == '\'':
			j, err := endQuoted(sql, i+2, '\'', false)
			if err != nil {
				return nil, fmt.Errorf("%w: unterminated string literal starting at offset %d", ErrSyntax, i)
			}
			emit(String, j)
		case c == '"':
			j, err := endQuoted(sql, i+1, '"', false)
			if err != nil {
				return nil, fmt.Errorf("%w: unterminated quoted identifier starting at offset %d", ErrSyntax, i)
			}
			emit(QuotedIdent, j)
		case c == '$':
			j := i + 1
			if j < n && isDigit(sql[j]) {
				for j < n && isDigit(sql[j]) {
					j++
				}
				emit(Param, j)
				continue
			}
			for j < n && (isIdentStart(sql[j]) || isDigit(sql[j])) {
				j++
			}
			if j < n && sql[j] == '$' {
				tag := sql[i : j+1]
				end := strings.Index(sql[j+1:], tag)
				if end < 0 {
					return nil, fmt.Errorf("%w: unterminated %s string starting at offset %d", ErrSyntax, tag, i)
				}
				emit(String, j+1+end+len(tag))
				continue
			}
			if j > i+1 { // $name: a named parameter
				emit(Param, j)
				continue
			}
			emit(Punct, i+1)
		case c == '?':
			emit(Param, i+1)
		case isDigit(c) || (c == '.' && i+1 < n && isDigit(sql[i+1])):
			j := i
			for j < n && (isDigit(sql[j]) || sql[j] == '.' || sql[j] == '_' || isIdentStart(sql[j]) ||
				((sql[j] == '+' || sql[j] == '-') && (sql[j-1] == 'e' || sql[j-1] == 'E'))) {
				j++
			}
			emit(Number, j)
		case isIdentStart(c):
			j := i + 1
			for j < n && isIdentPart(sql[j]) {
				j++
			}
			emit(Word, j)
		default:
			emit(Punct, i+1)
		}
	}
	return toks, nil
}

// endQuoted returns the offset just past the closing quote q, starting after
// the opening one; doubled quotes escape, and backslashes too when escapes.
func endQuoted(s string, j int, q byte, escapes bool) (int, error) {
	for j < len(s) {
		c := s[j]
		switch {
		case escapes && c == '\\':
			j += 2
		case c == q && j+1 < len(s) && s[j+1] == q:
			j += 2
		case c == q:
			return j + 1, nil
		default:
			j++
		}
	}
	return 0, errors.New("unterminated")
}

// significant returns the indexes of the significant tokens.
func significant(toks []Token) []int {
	idx := make([]int, 0, len(toks))
	for i, t := range toks {
		if t.Significant() {
			idx = append(idx, i)
		}
	}
	return idx
}

// FirstKeyword is the upper-cased first significant word of sql ("" if none),
// skipping opening parentheses.
func FirstKeyword(toks []Token) string {
	for _, t := range toks {
		if !t.Significant() || (t.Kind == Punct && t.Text == "(") {
			continue
		}
		if t.Kind == Word {
			return t.Upper()
		}
		return t.Text
	}
	return ""
}

// StatementCount counts the statements separated by semicolons that contain
// a significant token.
func StatementCount(toks []Token) int {
	count, has := 0, false
	for _, t := range toks {
		if t.Kind == Punct && t.Text == ";" {
			if has {
				count++
			}
			has = false
			continue
		}
		if t.Significant() {
			has = true
		}
	}
	if has {
		count++
	}
	return count
}

package sqlrewrite

import (
	"fmt"
	"strconv"
	"strings"
)

// AddColumn is a parsed ALTER TABLE <t> ADD COLUMN <name> <type> [COMMENT '...'].
type AddColumn struct {
	Table     string // base table name, lower case
	Column    string
	Type      string // canonical upper-case type name: BOOLEAN INT BIGINT FLOAT DOUBLE DECIMAL DATE TIME TIMESTAMP TIMESTAMPTZ STRING UUID BINARY
	Precision int    // DECIMAL only
	Scale     int    // DECIMAL only
	Comment   string
}

var typeAliases = map[string]string{
	"BOOLEAN": "BOOLEAN", "BOOL": "BOOLEAN",
	"INT": "INT", "INTEGER": "INT", "INT4": "INT",
	"BIGINT": "BIGINT", "LONG": "BIGINT", "INT8": "BIGINT",
	"FLOAT": "FLOAT", "REAL": "FLOAT", "FLOAT4": "FLOAT",
	"DOUBLE": "DOUBLE", "FLOAT8": "DOUBLE",
	"DECIMAL": "DECIMAL", "NUMERIC": "DECIMAL",
	"DATE": "DATE", "TIME": "TIME",
	"TIMESTAMP": "TIMESTAMP", "TIMESTAMPTZ": "TIMESTAMPTZ", "TIMESTAMP_NTZ": "TIMESTAMP", "TIMESTAMP_LTZ": "TIMESTAMPTZ",
	"STRING": "STRING", "VARCHAR": "STRING", "TEXT": "STRING",
	"UUID": "UUID", "BINARY": "BINARY", "BLOB": "BINARY", "VARBINARY": "BINARY",
}

// IsAlter reports whether the statement starts with ALTER.
func IsAlter(toks []Token) bool { return FirstKeyword(toks) == "ALTER" }

// ParseAddColumn parses the admin statement. It accepts lake.t, finlake.lake.t
// and a bare t, and an optional COLUMN keyword and trailing semicolon.
func ParseAddColumn(toks []Token, namespace string) (*AddColumn, error) {
	var s []Token
	for _, t := range toks {
		if t.Significant() {
			s = append(s, t)
		}
	}
	if len(s) > 0 && s[len(s)-1].Text == ";" {
		s = s[:len(s)-1]
	}
	usage := fmt.Errorf("the one supported admin statement is ALTER TABLE %s.<table> ADD COLUMN <name> <type> [COMMENT '<text>']", namespace)
	p := 0
	word := func(w string) bool {
		if p < len(s) && s[p].Kind == Word && s[p].Upper() == w {
			p++
			return true
		}
		return false
	}
	name := func() (string, bool) {
		if p < len(s) && (s[p].Kind == Word || s[p].Kind == QuotedIdent) {
			p++
			return s[p-1].Name(), true
		}
		return "", false
	}
	if !word("ALTER") || !word("TABLE") {
		return nil, usage
	}
	var parts []string
	for {
		n, ok := name()
		if !ok {
			return nil, usage
		}
		parts = append(parts, n)
		if p < len(s) && s[p].Text == "." {
			p++
			continue
		}
		break
	}
	switch {
	case len(parts) == 1:
	case len(parts) == 2 && parts[0] == namespace:
	case len(parts) == 3 && parts[1] == namespace:
	default:
		return nil, fmt.Errorf("table %s is not in the %s namespace", strings.Join(parts, "."), namespace)
	}
	ac := &AddColumn{Table: parts[len(parts)-1]}
	if !word("ADD") {
		return nil, usage
	}
	word("COLUMN")
	col, ok := name()
	if !ok {
		return nil, usage
	}
	ac.Column = col
	if p >= len(s) || s[p].Kind != Word {
		return nil, fmt.Errorf("ADD COLUMN %s: a type is needed (BOOLEAN, INT, BIGINT, FLOAT, DOUBLE, DECIMAL(p,s), DATE, TIME, TIMESTAMP, TIMESTAMPTZ, STRING, UUID, BINARY)", col)
	}
	raw := s[p].Upper()
	p++
	typ, ok := typeAliases[raw]
	if !ok {
		return nil, fmt.Errorf("ADD COLUMN %s: unsupported type %s (use BOOLEAN, INT, BIGINT, FLOAT, DOUBLE, DECIMAL(p,s), DATE, TIME, TIMESTAMP, TIMESTAMPTZ, STRING, UUID, BINARY)", col, raw)
	}
	if raw == "DOUBLE" {
		word("PRECISION")
	}
	if raw == "CHARACTER" {
		word("VARYING")
	}
	if typ == "TIMESTAMP" && p < len(s) && (s[p].Upper() == "WITH" || s[p].Upper() == "WITHOUT") {
		with := s[p].Upper() == "WITH"
		p++
		if !word("TIME") || !word("ZONE") {
			return nil, usage
		}
		if with {
			typ = "TIMESTAMPTZ"
		}
	}
	ac.Type = typ
	if typ == "DECIMAL" {
		ac.Precision, ac.Scale = 38, 0
		if p < len(s) && s[p].Text == "(" {
			p++
			nums := []int{}
			for p < len(s) && s[p].Text != ")" {
				if s[p].Kind == Number {
					v, err := strconv.Atoi(s[p].Text)
					if err != nil {
						return nil, usage
					}
					nums = append(nums, v)
				} else if s[p].Text != "," {
					return nil, usage
				}
				p++
			}
			if p >= len(s) || len(nums) == 0 || len(nums) > 2 {
				return nil, fmt.Errorf("ADD COLUMN %s: DECIMAL(precision, scale)", col)
			}
			p++
			ac.Precision = nums[0]
			if len(nums) == 2 {
				ac.Scale = nums[1]
			}
		}
		if ac.Precision < 1 || ac.Precision > 38 || ac.Scale < 0 || ac.Scale > ac.Precision {
			return nil, fmt.Errorf("ADD COLUMN %s: DECIMAL(%d,%d) is out of range (precision 1..38, 0 <= scale <= precision)", col, ac.Precision, ac.Scale)
		}
	} else if (typ == "STRING" || typ == "BINARY") && p < len(s) && s[p].Text == "(" {
		// VARCHAR(n): Iceberg strings have no length; accept and ignore it.
		for p < len(s) && s[p].Text != ")" {
			p++
		}
		p++
	}
	if word("COMMENT") {
		if p >= len(s) || s[p].Kind != String {
			return nil, fmt.Errorf("ADD COLUMN %s: COMMENT needs a string literal", col)
		}
		ac.Comment = s[p].StringValue()
		p++
	}
	if p != len(s) {
		return nil, fmt.Errorf("unexpected %q after ADD COLUMN %s (NOT NULL and DEFAULT are not supported: an added column is optional and reads NULL in older files)", s[p].Text, col)
	}
	return ac, nil
}

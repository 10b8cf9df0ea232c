package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
)

// scanObject calls fn with every key and raw value of a JSON object, without
// building a map: the hot path of ingest is splitting ~15 fields per record.
// Values are checked for balanced structure here and parsed by their column
// type later; a key with escapes is unescaped.
func scanObject(data []byte, fn func(key, val []byte) error) error {
	i := skipWS(data, 0)
	if i >= len(data) || data[i] != '{' {
		return errors.New("not a JSON object")
	}
	i = skipWS(data, i+1)
	if i < len(data) && data[i] == '}' {
		if skipWS(data, i+1) != len(data) {
			return errors.New("trailing data after the object")
		}
		return nil
	}
	for {
		if i >= len(data) || data[i] != '"' {
			return fmt.Errorf("expected a key at byte %d", i)
		}
		end, escaped, err := scanString(data, i)
		if err != nil {
			return err
		}
		key := data[i+1 : end-1]
		if escaped {
			var k string
			if err := json.Unmarshal(data[i:end], &k); err != nil {
				return err
			}
			key = []byte(k)
		}
		i = skipWS(data, end)
		if i >= len(data) || data[i] != ':' {
			return fmt.Errorf("expected ':' at byte %d", i)
		}
		i = skipWS(data, i+1)
		vend, err := skipValue(data, i)
		if err != nil {
			return err
		}
		if err := fn(key, data[i:vend]); err != nil {
			return err
		}
		i = skipWS(data, vend)
		if i >= len(data) {
			return errors.New("unterminated object")
		}
		switch data[i] {
		case ',':
			i = skipWS(data, i+1)
		case '}':
			if skipWS(data, i+1) != len(data) {
				return errors.New("trailing data after the object")
			}
			return nil
		default:
			return fmt.Errorf("expected ',' or '}' at byte %d", i)
		}
	}
}

func skipWS(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanString returns the index after the closing quote of the string that
// starts at data[i] == '"', and whether it holds escapes.
func scanString(data []byte, i int) (int, bool, error) {
	escaped := false
	for j := i + 1; j < len(data); j++ {
		switch data[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			return j + 1, escaped, nil
		}
	}
	return 0, false, errors.New("unterminated string")
}

// skipValue returns the index after the value starting at data[i].
func skipValue(data []byte, i int) (int, error) {
	if i >= len(data) {
		return 0, errors.New("missing value")
	}
	switch data[i] {
	case '"':
		end, _, err := scanString(data, i)
		return end, err
	case '{', '[':
		depth := 0
		for j := i; j < len(data); j++ {
			switch data[j] {
			case '"':
				end, _, err := scanString(data, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errors.New("unterminated object or array")
	default:
		j := i
		for j < len(data) {
			c := data[j]
			if c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r' {
				break
			}
			j++
		}
		if j == i {
			return 0, fmt.Errorf("missing value at byte %d", i)
		}
		lit := data[i:j]
		switch string(lit) {
		case "true", "false", "null":
			return j, nil
		}
		if c := lit[0]; c == '-' || (c >= '0' && c <= '9') {
			return j, nil
		}
		return 0, fmt.Errorf("invalid literal %q", lit)
	}
}

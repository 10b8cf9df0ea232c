package rules

import (
	"encoding/json"
	"strconv"
)

func jsonNum(s string) json.Number { return json.Number(s) }
func itoa(v int64) string          { return strconv.FormatInt(v, 10) }

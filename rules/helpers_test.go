package rules

import (
	"encoding/json"
	"strconv"
)

func jsonNum(s string) json.Number { return json.Number(s) }
func itoa(v int64) string          { return strconv.FormatInt(v, 10) }

// twoBadRules is a rules file with exactly two problems: a severity on line 4
// and a threshold on line 6.
const twoBadRules = `rules:
  - rule_name: big
    rule_type: threshold
    severity: severe
    description: d
    params: {amount_usd: -5}
`

package generator_test

import (
	"bytes"
	"encoding/json"
	"math/big"
	"regexp"
	"strings"
	"time"
)

// contractChecker is an independent reading of ARCHITECTURE.md's validation
// checks, written without the generator's code: it names, for one raw record,
// every check it fails, in the malformed-kind vocabulary of the labels.
type contractChecker struct {
	now   time.Time
	seen  map[string]bool   // transaction_id + "/" + status of valid events
	state map[string]string // transaction_id -> latest valid status
}

func newContractChecker(now time.Time) *contractChecker {
	return &contractChecker{now: now, seen: map[string]bool{}, state: map[string]string{}}
}

var (
	uuidRE    = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	accountRE = regexp.MustCompile(`^[A-Za-z0-9]+$`)
	countryRE = regexp.MustCompile(`^[A-Z]{2}$`)
	required  = []string{"transaction_id", "timestamp", "account_id", "amount", "currency", "merchant_name",
		"merchant_category", "transaction_type", "location_country", "status"}
	enums = map[string][]string{
		"currency":          {"USD", "EUR", "GBP", "JPY"},
		"merchant_category": {"retail", "dining", "travel", "online", "groceries", "entertainment", "utilities"},
		"transaction_type":  {"purchase", "withdrawal", "transfer", "refund"},
		"status":            {"pending", "completed", "failed", "reversed"},
	}
	allowed = map[string][]string{"": {"pending", "completed", "failed"}, "pending": {"completed", "failed"}, "completed": {"reversed"}}
)

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// check returns the failed checks of one record and, for a valid record,
// records it in the lifecycle state.
func (c *contractChecker) check(raw []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil || dec.More() {
		return []string{"non_json"}
	}
	var errs []string
	add := func(k string) {
		if !contains(errs, k) {
			errs = append(errs, k)
		}
	}
	str := map[string]string{}
	for _, f := range required {
		v, ok := obj[f]
		switch {
		case !ok:
			add("missing_field")
		case v == nil:
			add("null_field")
		default:
			if s, isStr := v.(string); isStr {
				str[f] = s
			} else if f != "amount" {
				add("bad_type")
			}
		}
	}
	if id, ok := str["transaction_id"]; ok && !uuidRE.MatchString(id) {
		add("bad_uuid")
	}
	if ts, ok := str["timestamp"]; ok {
		t, err := time.Parse(time.RFC3339Nano, ts)
		switch {
		case err != nil:
			add("bad_timestamp")
		case t.After(c.now.Add(time.Minute)):
			add("future_timestamp")
		}
	}
	if a, ok := str["account_id"]; ok && !accountRE.MatchString(a) {
		add("bad_account")
	}
	if num, ok := obj["amount"].(json.Number); ok {
		r, valid := new(big.Rat).SetString(num.String())
		switch {
		case !valid:
			add("bad_amount")
		case r.Sign() == 0:
			add("zero_amount")
		case r.Sign() < 0 && str["transaction_type"] != "refund" && contains(enums["transaction_type"], str["transaction_type"]):
			add("negative_non_refund")
		}
	} else if obj["amount"] != nil {
		add("bad_type")
	}
	if cur, ok := str["currency"]; ok && !contains(enums["currency"], cur) {
		add("bad_currency")
	}
	for _, f := range []string{"merchant_category", "transaction_type", "status"} {
		if v, ok := str[f]; ok && !contains(enums[f], v) {
			add("bad_enum")
		}
	}
	if v, ok := str["location_country"]; ok && !countryRE.MatchString(v) {
		add("bad_country")
	}
	if m, ok := str["merchant_name"]; ok && strings.TrimSpace(m) == "" {
		add("empty_merchant")
	}
	id, idOK := str["transaction_id"]
	st, stOK := str["status"]
	if idOK && stOK && uuidRE.MatchString(id) && contains(enums["status"], st) {
		if c.seen[id+"/"+st] {
			add("duplicate")
		} else if !contains(allowed[c.state[id]], st) {
			add("invalid_transition")
		}
	}
	if len(errs) == 0 {
		c.seen[id+"/"+st] = true
		c.state[id] = st
	}
	return errs
}

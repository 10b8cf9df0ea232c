package generator

import "bytes"

// Malformed record kinds: each is invalid for exactly one of the validator's
// checks in ARCHITECTURE.md.
const (
	MissingField      = "missing_field"
	NullField         = "null_field"
	ZeroAmount        = "zero_amount"
	BadCurrency       = "bad_currency"
	BadEnum           = "bad_enum"
	BadUUID           = "bad_uuid"
	BadTimestamp      = "bad_timestamp"
	FutureTimestamp   = "future_timestamp"
	NonJSON           = "non_json"
	InvalidTransition = "invalid_transition"
	Duplicate         = "duplicate"
)

// MalformedKinds lists every malformed kind, drawn with equal probability.
var MalformedKinds = [...]string{MissingField, NullField, ZeroAmount, BadCurrency, BadEnum, BadUUID,
	BadTimestamp, FutureTimestamp, NonJSON, InvalidTransition, Duplicate}

// FutureYears is how far ahead future_timestamp records lie on the event
// clock: far enough that they are in the future of any wall clock that will
// process them even for --start dates decades back, yet deterministic.
const FutureYears = 100

var (
	badCurrencies  = []string{"EURO", "US$", "DOLLAR", "E1R", "GBPP"}
	badCategories  = []string{"shopping", "food_and_drink", "misc"}
	badTypes       = []string{"payment", "deposit", "chargeback"}
	badTimestamps  = []string{"yesterday at noon", "26/11/2026 10:15:00", "2026-13-45T10:00:00Z", "2026-11-26T25:61:00Z", "not-a-timestamp"}
	badNonJSON     = []string{"ERROR upstream timeout after 30000 ms", "<transaction id=\"42\"/>", "transaction_id=42;amount=10.00"}
	requiredFields = []string{"transaction_id", "timestamp", "account_id", "amount", "currency", "merchant_name",
		"merchant_category", "transaction_type", "location_country", "status"}
)

// malformed emits an invalid record at event time at. Records built from a
// fresh transaction never share an id with the valid stream, so each breaks
// only its labelled check; the lifecycle kinds reuse real transactions.
func (g *Generator) malformed(dst []byte, at int64) Record {
	rng := g.rng
	kind := MalformedKinds[rng.IntN(len(MalformedKinds))]
	switch kind {
	case Duplicate:
		if r, ok := g.duplicate(dst); ok {
			return r
		}
		kind = InvalidTransition // nothing to repeat yet at the very start of a run
	}
	if kind == InvalidTransition {
		return g.invalidTransition(dst, at)
	}

	ev := g.freshInvalidBase(at)
	fs := g.enc.fields(&ev)
	txID := UUIDString(ev.TxID)
	set := func(name string, v []byte) {
		for i := range fs {
			if fs[i].name == name {
				fs[i].value = v
			}
		}
	}
	pick := func(l []string) string { return l[rng.IntN(len(l))] }
	switch kind {
	case MissingField:
		i := rng.IntN(len(fs))
		if fs[i].name == "transaction_id" {
			txID = ""
		}
		fs = append(fs[:i], fs[i+1:]...)
	case NullField:
		i := rng.IntN(len(fs))
		if fs[i].name == "transaction_id" {
			txID = ""
		}
		fs[i].value = []byte("null")
	case ZeroAmount:
		set("amount", appendAmount(nil, 0, ev.Currency))
	case BadCurrency:
		set("currency", appendJSONString(nil, pick(badCurrencies)))
	case BadEnum:
		if rng.IntN(2) == 0 {
			set("merchant_category", appendJSONString(nil, pick(badCategories)))
		} else {
			set("transaction_type", appendJSONString(nil, pick(badTypes)))
		}
	case BadUUID:
		switch rng.IntN(3) {
		case 0:
			txID = txID[:23] // last group missing
		case 1:
			txID = "txn-" + txID[:8]
		default:
			txID = "zz" + txID[2:] // not hexadecimal
		}
		set("transaction_id", appendJSONString(nil, txID))
	case BadTimestamp:
		set("timestamp", appendJSONString(nil, pick(badTimestamps)))
	case FutureTimestamp:
		future := ev.Time + int64(FutureYears*365.2425*dayMS) + rng.Int64N(30*dayMS)
		set("timestamp", appendJSONString(nil, string(appendTimestamp(nil, future))))
	case NonJSON:
		txID = ""
		switch rng.IntN(3) {
		case 0: // a record cut short, as by a crashed writer
			full := appendFields(nil, fs)
			cut := len(full)/3 + rng.IntN(len(full)/3)
			// Never cut inside a multi-byte character: raw stays UTF-8 here.
			for cut > 0 && full[cut]&0xc0 == 0x80 {
				cut--
			}
			return Record{Key: g.enc.accounts[ev.Account].key, Value: append(dst, full[:cut]...), Kind: kind,
				Label: &Label{Label: "malformed", Kind: kind}}
		case 1: // a record in the wrong format: a CSV line misrouted onto the JSON topic
			// Always valid UTF-8, so the output stays a text stream any JSON-lines
			// reader can split; the job's raw_base64 path for non-UTF-8 bytes is
			// covered by the Flink job's own tests.
			b := appendCSV(dst, fs)
			return Record{Key: g.enc.accounts[ev.Account].key, Value: b, Kind: kind,
				Label: &Label{Label: "malformed", Kind: kind}}
		default:
			return Record{Key: g.enc.accounts[ev.Account].key, Value: append(dst, pick(badNonJSON)...), Kind: kind,
				Label: &Label{Label: "malformed", Kind: kind}}
		}
	}
	return Record{Key: g.enc.accounts[ev.Account].key, Value: appendFields(dst, fs), Kind: kind,
		Label: &Label{Label: "malformed", Kind: kind, TransactionID: txID}}
}

// freshInvalidBase is a valid first event of a transaction that will never
// appear again: a positive purchase, so removing or breaking one field cannot
// also break the "negative only for refunds" or lifecycle checks.
func (g *Generator) freshInvalidBase(at int64) Event {
	ev := g.background(at)
	if ev.Type == Refund {
		ev.Type = Purchase
		ev.Amount = -ev.Amount
	}
	return ev
}

// duplicate repeats the current event of a transaction: the latest event of a
// finished transaction, or the pending event of one still awaiting settlement.
func (g *Generator) duplicate(dst []byte) (Record, bool) {
	ev, ok := g.finals.peek(g.rng)
	if !ok {
		for try := 0; try < 4 && len(g.sched) > 0; try++ {
			it := g.sched[g.rng.IntN(len(g.sched))]
			if it.kind == followUp && (it.ev.Status == Completed || it.ev.Status == Failed) {
				ev, ok = it.ev, true
				ev.Status = Pending
				break
			}
		}
	}
	if !ok {
		return Record{}, false
	}
	return Record{Key: g.enc.accounts[ev.Account].key, Value: g.enc.appendEvent(dst, &ev), Kind: Duplicate,
		Label: &Label{Label: "malformed", Kind: Duplicate, TransactionID: UUIDString(ev.TxID)}}, true
}

// invalidTransition emits a status change the lifecycle forbids and that is
// not a repeat: a failed transaction turning completed or reversed (each
// failed transaction used once), or a transaction whose first event is reversed.
func (g *Generator) invalidTransition(dst []byte, at int64) Record {
	ev, ok := g.failed.take(g.rng)
	if ok {
		ev.Status = Reversed
		if g.rng.IntN(2) == 0 {
			ev.Status = Completed
		}
	} else {
		ev = g.freshInvalidBase(at)
		ev.Status = Reversed
	}
	return Record{Key: g.enc.accounts[ev.Account].key, Value: g.enc.appendEvent(dst, &ev), Kind: InvalidTransition,
		Label: &Label{Label: "malformed", Kind: InvalidTransition, TransactionID: UUIDString(ev.TxID)}}
}

// appendCSV renders the record's values as one unquoted CSV line, account_id
// first, so the line can never parse as JSON (it starts with a letter).
func appendCSV(dst []byte, fs []field) []byte {
	var account []byte
	for _, f := range fs {
		if f.name == "account_id" {
			account = f.value
		}
	}
	dst = append(dst, bytes.Trim(account, `"`)...)
	for _, f := range fs {
		if f.name == "account_id" {
			continue
		}
		dst = append(dst, ',')
		for _, c := range bytes.Trim(f.value, `"`) {
			if c == '\n' || c == '\r' || c == '"' || c == '\\' {
				c = ' '
			}
			dst = append(dst, c)
		}
	}
	return dst
}

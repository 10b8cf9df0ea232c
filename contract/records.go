package contract

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// The record types of the contract's topics (DATA_DICTIONARY.md), declared
// once for every Go reader and writer. Field order is the order the writers
// emit, so encoding a decoded record gives its bytes back; timestamps stay
// the strings that travel (a time.Time would drop ".000"), amounts stay
// json.Number (never a float).

// Transaction is a raw-transactions event: one lifecycle step of a
// transaction, keyed by account_id. The generator writes it with its own
// allocation-free encoder, field for field in this order.
type Transaction struct {
	TransactionID    string      `json:"transaction_id"`
	Timestamp        string      `json:"timestamp"`
	AccountID        string      `json:"account_id"`
	Amount           json.Number `json:"amount"`
	Currency         string      `json:"currency"`
	MerchantName     string      `json:"merchant_name"`
	MerchantCategory string      `json:"merchant_category"`
	TransactionType  string      `json:"transaction_type"`
	LocationCountry  string      `json:"location_country"`
	Status           string      `json:"status"`
}

// Time is the event time.
func (t Transaction) Time() (time.Time, error) { return time.Parse(time.RFC3339Nano, t.Timestamp) }

// EnrichedTransaction is a transactions-processed record: the transaction as
// received plus what the Flink job adds.
type EnrichedTransaction struct {
	Transaction
	AmountUSD           json.Number `json:"amount_usd"`
	ProcessingTimestamp string      `json:"processing_timestamp"`
	PartitionDate       string      `json:"partition_date"`
	IsFlagged           bool        `json:"is_flagged"`
}

// Alert is an alerts record: one rule that fired on a transaction's first
// event. Transaction is that raw event as the job received it.
type Alert struct {
	AlertID        string      `json:"alert_id"`
	TransactionID  string      `json:"transaction_id"`
	AccountID      string      `json:"account_id"`
	RuleName       string      `json:"rule_name"`
	RuleType       string      `json:"rule_type"`
	RuleVersion    int64       `json:"rule_version"`
	Severity       string      `json:"severity"`
	AlertTimestamp string      `json:"alert_timestamp"`
	Description    string      `json:"description"`
	Transaction    Transaction `json:"transaction"`
}

// Time is when the job raised the alert.
func (a Alert) Time() (time.Time, error) { return time.Parse(time.RFC3339Nano, a.AlertTimestamp) }

// DeadLetterRecord is a dead-letter record: a raw record the job rejected
// and why (the name DeadLetter is the topic's).
// Exactly one of Raw (the value as text) and RawBase64 (when it was not
// UTF-8) is set; the job writes "raw":null when it had no value at all,
// which decodes as both nil.
type DeadLetterRecord struct {
	Errors         []DeadLetterError `json:"errors"`
	Raw            *string           `json:"raw,omitempty"`
	RawBase64      *string           `json:"raw_base64,omitempty"`
	Source         DeadLetterSource  `json:"source"`
	DeadLetteredAt string            `json:"dead_lettered_at"`
}

// DeadLetterError is one failed check.
type DeadLetterError struct {
	Field    string `json:"field"`
	Rule     string `json:"rule"`
	Expected string `json:"expected"`
	Actual   string `json:"actual"`
}

// DeadLetterSource is where the rejected record was read. Timestamp is nil
// when the job could not read one (replay of an unreadable line).
type DeadLetterSource struct {
	Topic     string  `json:"topic"`
	Partition int32   `json:"partition"`
	Offset    int64   `json:"offset"`
	Timestamp *string `json:"timestamp"`
}

// FXKey is the alert-rules key that carries the FX table.
const FXKey = "_fx_rates"

// Rule is an alert-rules record value under the key RuleName. A nil value
// (tombstone) deletes the rule.
type Rule struct {
	Name        string         `json:"rule_name"`
	Type        string         `json:"rule_type"`
	Version     int64          `json:"version"`
	Enabled     bool           `json:"enabled"`
	Severity    string         `json:"severity"`
	Description string         `json:"description"`
	Params      map[string]any `json:"params"`
}

// FXTable is the alert-rules record value under FXKey: the USD value of one
// unit of each currency. Rates are json.Number so they travel as the decimal
// written in config/fx_rates.yaml, never through a float.
type FXTable struct {
	USDPerUnit map[string]json.Number `json:"usd_per_unit"`
	Version    int64                  `json:"version"`
}

// Encode gives the alert-rules record value of a rule (params as {} when none).
func (r Rule) Encode() ([]byte, error) {
	if r.Params == nil {
		r.Params = map[string]any{}
	}
	return json.Marshal(r)
}

// Encode gives the alert-rules record value of the FX table.
func (f FXTable) Encode() ([]byte, error) { return json.Marshal(f) }

// DecodeRule reads a rule record value; numbers stay json.Number. The key
// must be the rule's name.
func DecodeRule(key string, value []byte) (Rule, error) {
	var r Rule
	if err := decodeNumbers(value, &r); err != nil {
		return Rule{}, fmt.Errorf("rule %q: %w", key, err)
	}
	if r.Name != key {
		return Rule{}, fmt.Errorf("rule record key %q carries rule_name %q", key, r.Name)
	}
	return r, nil
}

// DecodeFX reads the FXKey record value.
func DecodeFX(value []byte) (FXTable, error) {
	var f FXTable
	if err := decodeNumbers(value, &f); err != nil {
		return FXTable{}, fmt.Errorf("%s: %w", FXKey, err)
	}
	return f, nil
}

// DecodeAlert reads an alerts record value.
func DecodeAlert(v []byte) (Alert, error) {
	var a Alert
	if err := json.Unmarshal(v, &a); err != nil {
		return Alert{}, fmt.Errorf("alert record: %w", err)
	}
	return a, nil
}

// DecodeDeadLetter reads a dead-letter record value.
func DecodeDeadLetter(v []byte) (DeadLetterRecord, error) {
	var d DeadLetterRecord
	if err := json.Unmarshal(v, &d); err != nil {
		return DeadLetterRecord{}, fmt.Errorf("dead-letter record: %w", err)
	}
	return d, nil
}

// Marshal encodes a record the way the job and the generator write JSON:
// compact, with <, > and & as themselves (encoding/json would escape them,
// and the generator's and the job's bytes would not round-trip).
func Marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func decodeNumbers(value []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(value))
	dec.UseNumber()
	return dec.Decode(v)
}

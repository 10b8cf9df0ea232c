package generator

import (
	"math/rand/v2"
	"unicode/utf8"
)

// Status is a transaction's lifecycle status.
type Status uint8

const (
	Pending Status = iota
	Completed
	Failed
	Reversed
	numStatuses
)

var statusNames = [numStatuses]string{"pending", "completed", "failed", "reversed"}

func (s Status) String() string { return statusNames[s] }

// Event is one transaction event of raw-transactions, kept in compact form
// until it is encoded.
type Event struct {
	TxID     [16]byte
	Time     int64 // occurrence time, Unix milliseconds UTC
	Account  int32 // index into the generator's accounts
	Merchant int32 // index into the merchant table
	Amount   int64 // minor units of Currency; negative only for refunds
	Currency Currency
	Category Category
	Type     TxType
	Country  Country
	Status   Status
}

// newTxID draws a version 4 UUID from the generator's seeded source, so ids
// repeat exactly under the same seed.
func newTxID(rng *rand.Rand) [16]byte {
	var id [16]byte
	a, b := rng.Uint64(), rng.Uint64()
	for i := 0; i < 8; i++ {
		id[i] = byte(a >> (56 - 8*i))
		id[8+i] = byte(b >> (56 - 8*i))
	}
	id[6] = id[6]&0x0f | 0x40
	id[8] = id[8]&0x3f | 0x80
	return id
}

const hexDigits = "0123456789abcdef"

func appendUUID(dst []byte, id [16]byte) []byte {
	for i, b := range id {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hexDigits[b>>4], hexDigits[b&0x0f])
	}
	return dst
}

// UUIDString formats a transaction id.
func UUIDString(id [16]byte) string { return string(appendUUID(nil, id)) }

// appendTimestamp writes Unix milliseconds as RFC 3339 UTC with milliseconds,
// e.g. 2026-11-26T01:02:03.456Z, without going through time.Time.Format.
func appendTimestamp(dst []byte, ms int64) []byte {
	days := floorDiv(ms, 86_400_000)
	rem := ms - days*86_400_000
	y, m, d := civil(days)
	dst = append4(dst, y)
	dst = append(dst, '-')
	dst = append2(dst, m)
	dst = append(dst, '-')
	dst = append2(dst, d)
	dst = append(dst, 'T')
	dst = append2(dst, int(rem/3_600_000))
	dst = append(dst, ':')
	dst = append2(dst, int(rem/60_000%60))
	dst = append(dst, ':')
	dst = append2(dst, int(rem/1000%60))
	dst = append(dst, '.')
	msPart := int(rem % 1000)
	dst = append(dst, byte('0'+msPart/100), byte('0'+msPart/10%10), byte('0'+msPart%10))
	return append(dst, 'Z')
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// civil converts days since 1970-01-01 to a proleptic Gregorian date
// (H. Hinnant's days_from_civil inverse).
func civil(days int64) (year, month, day int) {
	z := days + 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return int(y), int(m), int(d)
}

func append2(dst []byte, v int) []byte { return append(dst, byte('0'+v/10), byte('0'+v%10)) }

func append4(dst []byte, v int) []byte {
	return append(dst, byte('0'+v/1000%10), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10))
}

// appendJSONString writes s as a JSON string literal.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			dst = append(dst, c)
			i++
			continue
		}
		if c < utf8.RuneSelf {
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\r':
				dst = append(dst, '\\', 'r')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}

// encoder turns events into JSON lines; it owns the lookup tables events refer to.
type encoder struct {
	accounts  []Account
	merchants *merchantTable
}

// appendEvent writes the event as the contract's JSON object, fields in the
// contract's order.
func (e *encoder) appendEvent(dst []byte, ev *Event) []byte {
	dst = append(dst, `{"transaction_id":"`...)
	dst = appendUUID(dst, ev.TxID)
	dst = append(dst, `","timestamp":"`...)
	dst = appendTimestamp(dst, ev.Time)
	dst = append(dst, `","account_id":"`...)
	dst = append(dst, e.accounts[ev.Account].ID...)
	dst = append(dst, `","amount":`...)
	dst = appendAmount(dst, ev.Amount, ev.Currency)
	dst = append(dst, `,"currency":"`...)
	dst = append(dst, currencyCodes[ev.Currency]...)
	dst = append(dst, `","merchant_name":`...)
	dst = append(dst, e.merchants.all[ev.Merchant].nameJSON...)
	dst = append(dst, `,"merchant_category":"`...)
	dst = append(dst, categoryNames[ev.Category]...)
	dst = append(dst, `","transaction_type":"`...)
	dst = append(dst, txTypeNames[ev.Type]...)
	dst = append(dst, `","location_country":"`...)
	dst = append(dst, countryCodes[ev.Country]...)
	dst = append(dst, `","status":"`...)
	dst = append(dst, statusNames[ev.Status]...)
	return append(dst, `"}`...)
}

// fields gives the event as ordered (name, raw JSON value) pairs: the slow,
// flexible form the malformed-record injector edits.
func (e *encoder) fields(ev *Event) []field {
	str := func(s string) []byte { return appendJSONString(nil, s) }
	return []field{
		{"transaction_id", str(UUIDString(ev.TxID))},
		{"timestamp", appendJSONString(nil, string(appendTimestamp(nil, ev.Time)))},
		{"account_id", str(e.accounts[ev.Account].ID)},
		{"amount", appendAmount(nil, ev.Amount, ev.Currency)},
		{"currency", str(currencyCodes[ev.Currency])},
		{"merchant_name", e.merchants.all[ev.Merchant].nameJSON},
		{"merchant_category", str(categoryNames[ev.Category])},
		{"transaction_type", str(txTypeNames[ev.Type])},
		{"location_country", str(countryCodes[ev.Country])},
		{"status", str(statusNames[ev.Status])},
	}
}

type field struct {
	name  string
	value []byte
}

func appendFields(dst []byte, fs []field) []byte {
	dst = append(dst, '{')
	for i, f := range fs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, f.name)
		dst = append(dst, ':')
		dst = append(dst, f.value...)
	}
	return append(dst, '}')
}

package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/finlake/finlake/lake"
)

// KafkaMeta is where a record came from; it fills the kafka_* audit columns
// whatever the JSON says.
type KafkaMeta struct {
	Partition int32
	Offset    int64
	Timestamp time.Time
}

// errNotObject marks a record that is not a JSON object: it is skipped and
// counted, because one bad record must never stop the stream.
var errNotObject = errors.New("record is not a JSON object")

// ErrInexactDecimal marks a record with a decimal value (amount, amount_usd)
// its column cannot hold exactly: too many decimals for the scale, too many
// digits for the precision, or not a number. Money is never rounded or
// NULLed on the way in: the record takes the bad-record path (skipped,
// counted in records_invalid, logged as a warning) and the job's dead letters
// are where such amounts belong.
var ErrInexactDecimal = errors.New("decimal value not representable exactly")

// rowBuilder turns JSON records into Arrow rows of one table schema. It is
// built from the table's schema at the start of each batch, so a column added
// meanwhile (schema evolution) is filled from the next batch on.
//
// Mapping: a top-level key fills the column of the same name. A nested object
// under key K that is not itself a column (the alert's "transaction") fills
// column K_<sub> when it exists (transaction.timestamp → transaction_timestamp),
// else column <sub> unless the top level already set it (transaction.amount →
// amount). Every other key is an unknown field: ignored and counted.
type rowBuilder struct {
	schema   *arrow.Schema
	rb       *array.RecordBuilder
	cols     []column
	byName   map[string]int
	slots    [][]byte
	decs     []decimal128.Num // decimal columns parsed before any column is appended
	nested   []nestedObj
	metaCols [3]int // kafka_partition, kafka_offset, kafka_timestamp; -1 if absent
	rows     int
	badValue func(col string)
}

type column struct {
	name   string
	append func(raw []byte) error // raw is never JSON null here
	null   func()
	// decimal columns are parsed first (parseDec), so a value they cannot
	// hold rejects the whole record before anything is appended.
	parseDec  func(raw []byte) (decimal128.Num, error)
	appendDec func(decimal128.Num)
}

func newRowBuilder(sc *iceberg.Schema, mem memory.Allocator, badValue func(col string)) (*rowBuilder, error) {
	asc, err := table.SchemaToArrowSchema(sc, nil, true, false)
	if err != nil {
		return nil, fmt.Errorf("arrow schema: %w", err)
	}
	b := &rowBuilder{
		schema:   asc,
		rb:       array.NewRecordBuilder(mem, asc),
		byName:   make(map[string]int, len(asc.Fields())),
		badValue: badValue,
		metaCols: [3]int{-1, -1, -1},
	}
	b.slots = make([][]byte, len(asc.Fields()))
	b.decs = make([]decimal128.Num, len(asc.Fields()))
	for i, fld := range asc.Fields() {
		col, err := makeColumn(fld, b.rb.Field(i))
		if err != nil {
			b.rb.Release()
			return nil, err
		}
		b.cols = append(b.cols, col)
		b.byName[fld.Name] = i
		switch fld.Name {
		case lake.ColKafkaPartition:
			b.metaCols[0] = i
		case lake.ColKafkaOffset:
			b.metaCols[1] = i
		case lake.ColKafkaTimestamp:
			b.metaCols[2] = i
		}
	}
	return b, nil
}

func (b *rowBuilder) release() { b.rb.Release() }

// add appends one record; it returns how many of its fields the table has no
// column for.
func (b *rowBuilder) add(value []byte, meta KafkaMeta) (unknown int, err error) {
	clear(b.slots)
	b.nested = b.nested[:0]
	err = scanObject(value, func(k, v []byte) error {
		if i, ok := b.byName[string(k)]; ok && !b.isMeta(i) {
			b.slots[i] = v
			return nil
		}
		if len(v) > 0 && v[0] == '{' {
			b.nested = append(b.nested, nestedObj{key: k, val: v})
			return nil
		}
		unknown++
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("%w: %v", errNotObject, err)
	}
	for _, n := range b.nested {
		prefix := string(n.key) + "_"
		err := scanObject(n.val, func(sk, sv []byte) error {
			if i, ok := b.byName[prefix+string(sk)]; ok && !b.isMeta(i) {
				if b.slots[i] == nil {
					b.slots[i] = sv
				}
				return nil
			}
			if i, ok := b.byName[string(sk)]; ok && !b.isMeta(i) {
				// The same fact at the top level (transaction_id, account_id)
				// wins and is no unknown field.
				if b.slots[i] == nil {
					b.slots[i] = sv
				}
				return nil
			}
			unknown++
			return nil
		})
		if err != nil {
			return 0, fmt.Errorf("%w: %v", errNotObject, err)
		}
	}
	for i, c := range b.cols {
		if raw := b.slots[i]; c.parseDec != nil && raw != nil && !bytes.Equal(raw, []byte("null")) {
			n, err := c.parseDec(unquote(raw))
			if err != nil {
				return 0, fmt.Errorf("%w: column %s: %v", ErrInexactDecimal, c.name, err)
			}
			b.decs[i] = n
		}
	}
	for i, c := range b.cols {
		switch i {
		case b.metaCols[0]:
			b.rb.Field(i).(*array.Int32Builder).Append(meta.Partition)
			continue
		case b.metaCols[1]:
			b.rb.Field(i).(*array.Int64Builder).Append(meta.Offset)
			continue
		case b.metaCols[2]:
			b.rb.Field(i).(*array.TimestampBuilder).Append(arrow.Timestamp(meta.Timestamp.UnixMicro()))
			continue
		}
		raw := b.slots[i]
		if raw == nil || bytes.Equal(raw, []byte("null")) {
			c.null()
			continue
		}
		if c.appendDec != nil {
			c.appendDec(b.decs[i])
			continue
		}
		if err := c.append(raw); err != nil {
			// A value of the wrong shape must not lose the row: NULL it and count.
			c.null()
			if b.badValue != nil {
				b.badValue(c.name)
			}
		}
	}
	b.rows++
	return unknown, nil
}

type nestedObj struct{ key, val []byte }

func (b *rowBuilder) isMeta(i int) bool {
	return i == b.metaCols[0] || i == b.metaCols[1] || i == b.metaCols[2]
}

// flush hands out the rows built so far as one record batch (nil when none).
func (b *rowBuilder) flush() arrow.RecordBatch {
	if b.rows == 0 {
		return nil
	}
	b.rows = 0
	return b.rb.NewRecordBatch()
}

func makeColumn(fld arrow.Field, bld array.Builder) (column, error) {
	c := column{name: fld.Name, null: bld.AppendNull}
	switch bb := bld.(type) {
	case *array.StringBuilder:
		c.append = func(raw []byte) error {
			s, err := jsonString(raw)
			if err != nil {
				return err
			}
			bb.Append(s)
			return nil
		}
	case *array.BooleanBuilder:
		c.append = func(raw []byte) error {
			switch string(unquote(raw)) {
			case "true":
				bb.Append(true)
			case "false":
				bb.Append(false)
			default:
				return fmt.Errorf("not a boolean: %s", raw)
			}
			return nil
		}
	case *array.Int32Builder:
		c.append = func(raw []byte) error {
			v, err := strconv.ParseInt(string(unquote(raw)), 10, 32)
			if err != nil {
				return err
			}
			bb.Append(int32(v))
			return nil
		}
	case *array.Int64Builder:
		c.append = func(raw []byte) error {
			v, err := strconv.ParseInt(string(unquote(raw)), 10, 64)
			if err != nil {
				return err
			}
			bb.Append(v)
			return nil
		}
	case *array.Float32Builder:
		c.append = func(raw []byte) error {
			v, err := strconv.ParseFloat(string(unquote(raw)), 32)
			if err != nil {
				return err
			}
			bb.Append(float32(v))
			return nil
		}
	case *array.Float64Builder:
		c.append = func(raw []byte) error {
			v, err := strconv.ParseFloat(string(unquote(raw)), 64)
			if err != nil {
				return err
			}
			bb.Append(v)
			return nil
		}
	case *array.Decimal128Builder:
		dt := fld.Type.(*arrow.Decimal128Type)
		c.parseDec = func(raw []byte) (decimal128.Num, error) { return parseDecimal(raw, dt.Precision, dt.Scale) }
		c.appendDec = bb.Append
	case *array.TimestampBuilder:
		unit := fld.Type.(*arrow.TimestampType).Unit
		c.append = func(raw []byte) error {
			t, err := parseTime(raw)
			if err != nil {
				return err
			}
			switch unit {
			case arrow.Millisecond:
				bb.Append(arrow.Timestamp(t.UnixMilli()))
			case arrow.Nanosecond:
				bb.Append(arrow.Timestamp(t.UnixNano()))
			default:
				bb.Append(arrow.Timestamp(t.UnixMicro()))
			}
			return nil
		}
	case *array.Date32Builder:
		c.append = func(raw []byte) error {
			if raw[0] != '"' {
				d, err := strconv.ParseInt(string(raw), 10, 32)
				if err != nil {
					return err
				}
				bb.Append(arrow.Date32(d))
				return nil
			}
			t, err := time.Parse(time.DateOnly, string(unquote(raw)))
			if err != nil {
				if t, err = parseTime(raw); err != nil {
					return err
				}
			}
			bb.Append(arrow.Date32FromTime(t.UTC()))
			return nil
		}
	default:
		// Complex or exotic types added by schema evolution are not fed from
		// JSON; they stay NULL (counted as bad values when the record has them).
		c.append = func([]byte) error { return fmt.Errorf("column type %s is not filled from JSON", fld.Type) }
	}
	return c, nil
}

// unquote strips the quotes of a JSON string, so numbers and booleans may
// also come quoted ("125.40").
func unquote(raw []byte) []byte {
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' {
		return raw[1 : len(raw)-1]
	}
	return raw
}

func jsonString(raw []byte) (string, error) {
	if raw[0] != '"' {
		if raw[0] == '{' || raw[0] == '[' {
			return string(raw), nil // keep structure as its JSON text
		}
		return string(raw), nil // number or boolean as its literal text
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), nil
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err
}

// parseTime accepts RFC 3339 with any zone (stored as UTC), the same without
// zone (taken as UTC) or with a space for the T, and epoch milliseconds.
func parseTime(raw []byte) (time.Time, error) {
	if raw[0] != '"' {
		ms, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil {
			f, ferr := strconv.ParseFloat(string(raw), 64)
			if ferr != nil {
				return time.Time{}, fmt.Errorf("not a timestamp: %s", raw)
			}
			return time.UnixMicro(int64(math.Round(f * 1000))).UTC(), nil
		}
		return time.UnixMilli(ms).UTC(), nil
	}
	s := string(unquote(raw))
	if len(s) > 10 && s[10] == ' ' {
		s = s[:10] + "T" + s[11:]
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	t, err := time.ParseInLocation("2006-01-02T15:04:05.999999999", s, time.UTC)
	if err != nil {
		return time.Time{}, fmt.Errorf("not a timestamp: %s", raw)
	}
	return t, nil
}

var pow10 = func() [19]int64 {
	var p [19]int64
	p[0] = 1
	for i := 1; i < 19; i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

var errDecimal = errors.New("not a decimal")

// parseDecimal reads a JSON number's text exactly (never through float64) as
// an unscaled value at the given scale. It never rounds: a value with more
// decimals than the scale (10.005 at scale 2; trailing zeros such as 10.500
// are fine) or more digits than the precision is an error.
func parseDecimal(s []byte, precision, scale int32) (decimal128.Num, error) {
	if v, ok := parseDecimalFast(s, scale); ok {
		if precision <= 18 && (v >= pow10[precision] || v <= -pow10[precision]) {
			return decimal128.Num{}, fmt.Errorf("%s exceeds decimal(%d,%d)", s, precision, scale)
		}
		return decimal128.FromI64(v), nil
	}
	if i := bytes.IndexAny(s, "eE"); i >= 0 {
		// An exponent beyond any decimal(38) would make big.Rat build a huge power of ten.
		if e, err := strconv.Atoi(string(s[i+1:])); err != nil || e > 400 || e < -400 {
			return decimal128.Num{}, fmt.Errorf("%w: %q", errDecimal, s)
		}
	}
	r, ok := new(big.Rat).SetString(string(s))
	if !ok {
		return decimal128.Num{}, fmt.Errorf("%w: %q", errDecimal, s)
	}
	r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)))
	if !r.IsInt() {
		return decimal128.Num{}, fmt.Errorf("%s has more than %d decimals: decimal(%d,%d) would round it", s, scale, precision, scale)
	}
	q := r.Num()
	if precision <= 38 && q.CmpAbs(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(precision)), nil)) >= 0 {
		return decimal128.Num{}, fmt.Errorf("%s exceeds decimal(%d,%d)", s, precision, scale)
	}
	n, err := decimal128.FromString(q.String(), precision, 0)
	if err != nil {
		return decimal128.Num{}, fmt.Errorf("%s exceeds decimal(%d,%d)", s, precision, scale)
	}
	return n, nil
}

// parseDecimalFast handles plain d+(.d+)? text of at most 18 digits, the
// only shape the pipeline produces; anything else goes the exact slow way.
func parseDecimalFast(s []byte, scale int32) (int64, bool) {
	if len(s) == 0 {
		return 0, false
	}
	neg := false
	i := 0
	if s[0] == '-' || s[0] == '+' {
		neg = s[0] == '-'
		i++
	}
	var mant int64
	digits, frac := 0, -1
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if frac >= 0 {
				frac++
				if int32(frac) > scale {
					return 0, false // needs rounding: slow path
				}
			}
			digits++
			if digits > 18 {
				return 0, false
			}
			mant = mant*10 + int64(c-'0')
		case c == '.' && frac < 0:
			frac = 0
		default:
			return 0, false
		}
	}
	if digits == 0 {
		return 0, false
	}
	if frac < 0 {
		frac = 0
	}
	shift := int(scale) - frac
	if digits+shift > 18 {
		return 0, false
	}
	mant *= pow10[shift]
	if neg {
		mant = -mant
	}
	return mant, true
}

package client

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/finlake/finlake/internal/termout"
)

// Formats lakectl query accepts.
var Formats = []string{"table", "csv", "json", "jsonl"}

// WriteOptions tune Write.
type WriteOptions struct {
	Format string
	// MaxTableRows caps table output, which must see all rows before it can
	// size its columns; csv, json and jsonl stream without limit.
	MaxTableRows int
}

// Write streams rr to w in the format. csv, json and jsonl write each batch
// as it arrives and flush, so a long result shows up progressively and never
// sits in memory. It returns the number of rows written.
func Write(w io.Writer, rr array.RecordReader, o WriteOptions) (int64, error) {
	switch o.Format {
	case "csv":
		return writeCSV(w, rr)
	case "json":
		return writeJSON(w, rr, false)
	case "jsonl":
		return writeJSON(w, rr, true)
	case "table", "":
		return writeTable(w, rr, o.MaxTableRows)
	}
	return 0, fmt.Errorf("--format %q: want table, csv, json or jsonl", o.Format)
}

func writeCSV(w io.Writer, rr array.RecordReader) (int64, error) {
	cw := csv.NewWriter(w)
	schema := rr.Schema()
	header := make([]string, schema.NumFields())
	for i, f := range schema.Fields() {
		header[i] = f.Name
	}
	if err := cw.Write(header); err != nil {
		return 0, err
	}
	var n int64
	row := make([]string, len(header))
	for rr.Next() {
		rec := rr.RecordBatch()
		for r := 0; r < int(rec.NumRows()); r++ {
			for c := range row {
				row[c] = Text(rec.Column(c), r)
			}
			if err := cw.Write(row); err != nil {
				return n, err
			}
			n++
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return n, err
		}
	}
	cw.Flush()
	return n, rr.Err()
}

func writeJSON(w io.Writer, rr array.RecordReader, lines bool) (int64, error) {
	bw := bufio.NewWriter(w)
	names := make([][]byte, rr.Schema().NumFields())
	for i, f := range rr.Schema().Fields() {
		names[i], _ = json.Marshal(f.Name)
	}
	var n int64
	if !lines {
		bw.WriteString("[")
	}
	for rr.Next() {
		rec := rr.RecordBatch()
		for r := 0; r < int(rec.NumRows()); r++ {
			if !lines && n > 0 {
				bw.WriteString(",")
			}
			if !lines {
				bw.WriteString("\n  ")
			}
			bw.WriteByte('{')
			for c := range names {
				if c > 0 {
					bw.WriteByte(',')
				}
				bw.Write(names[c])
				bw.WriteByte(':')
				bw.WriteString(JSONValue(rec.Column(c), r))
			}
			bw.WriteByte('}')
			if lines {
				bw.WriteByte('\n')
			}
			n++
		}
		if err := bw.Flush(); err != nil {
			return n, err
		}
	}
	if !lines {
		if n > 0 {
			bw.WriteString("\n")
		}
		bw.WriteString("]\n")
	}
	if err := bw.Flush(); err != nil {
		return n, err
	}
	return n, rr.Err()
}

func writeTable(w io.Writer, rr array.RecordReader, max int) (int64, error) {
	if max <= 0 {
		max = 1000
	}
	schema := rr.Schema()
	header := make([]string, schema.NumFields())
	for i, f := range schema.Fields() {
		header[i] = f.Name
	}
	t := termout.NewTable(w, header...)
	var n int64
	more := false
	for !more && rr.Next() {
		rec := rr.RecordBatch()
		for r := 0; r < int(rec.NumRows()); r++ {
			if n >= int64(max) {
				more = true
				break
			}
			row := make([]string, len(header))
			for c := range row {
				row[c] = Text(rec.Column(c), r)
			}
			if err := t.Append(row); err != nil {
				return n, err
			}
			n++
		}
	}
	if err := rr.Err(); err != nil {
		return n, err
	}
	if err := t.Render(); err != nil {
		return n, err
	}
	switch {
	case more:
		fmt.Fprintf(w, "(first %d rows shown; add LIMIT, raise --max-rows, or use --format csv|jsonl for everything)\n", n)
	case n == 1:
		fmt.Fprintln(w, "(1 row)")
	default:
		fmt.Fprintf(w, "(%d rows)\n", n)
	}
	return n, nil
}

// Text renders one value for people and CSV: NULL as empty in CSV terms is
// ambiguous, so it is written "NULL"; decimals exactly; times in RFC 3339.
func Text(a arrow.Array, i int) string {
	if a.IsNull(i) {
		return "NULL"
	}
	switch v := a.(type) {
	case *array.String:
		return v.Value(i)
	case *array.LargeString:
		return v.Value(i)
	case *array.Timestamp:
		unit := v.DataType().(*arrow.TimestampType).Unit
		return v.Value(i).ToTime(unit).UTC().Format(time.RFC3339Nano)
	case *array.Date32:
		return v.Value(i).FormattedString()
	case *array.Decimal128:
		// With its scale: 100.00 stays 100.00, as stored.
		return v.Value(i).ToString(v.DataType().(*arrow.Decimal128Type).Scale)
	case *array.Float64:
		return strconv.FormatFloat(v.Value(i), 'f', -1, 64)
	case *array.Float32:
		return strconv.FormatFloat(float64(v.Value(i)), 'f', -1, 32)
	}
	return a.ValueStr(i)
}

// JSONValue renders one value as JSON: numbers (decimals exactly) stay
// numbers, times are RFC 3339 strings, nested values use Arrow's JSON form.
func JSONValue(a arrow.Array, i int) string {
	if a.IsNull(i) {
		return "null"
	}
	switch v := a.(type) {
	case *array.Int8, *array.Int16, *array.Int32, *array.Int64, *array.Uint8, *array.Uint16, *array.Uint32, *array.Uint64,
		*array.Decimal256:
		return a.ValueStr(i)
	case *array.Decimal128:
		return Text(a, i)
	case *array.Float64, *array.Float32:
		s := Text(a, i)
		if _, err := strconv.ParseFloat(s, 64); err != nil || s == "NaN" || s == "+Inf" || s == "-Inf" {
			b, _ := json.Marshal(s)
			return string(b)
		}
		return s
	case *array.Boolean:
		return strconv.FormatBool(v.Value(i))
	case *array.String, *array.LargeString, *array.Timestamp, *array.Date32:
		return quoteJSON(Text(a, i))
	}
	b, err := json.Marshal(a.GetOneForMarshal(i))
	if err != nil {
		b, _ = json.Marshal(a.ValueStr(i))
	}
	return string(b)
}

// quoteJSON is json.Marshal of a string without its reflection cost for the
// common case of printable ASCII with nothing to escape.
func quoteJSON(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s)
			return string(b)
		}
	}
	return `"` + s + `"`
}

// Package termout owns how lakectl prints tables for people: tablewriter
// sized to the terminal, column names left as written (no title-casing, so
// they can be pasted back into SQL).
package termout

import (
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
	"golang.org/x/term"
)

// Width gives the terminal width of w, $COLUMNS when w is not a terminal but
// COLUMNS is set, or 0 (no limit) for pipes and files.
func Width(w io.Writer) int {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 0 {
			return cols
		}
	}
	if c, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && c > 0 {
		return c
	}
	return 0
}

// NewTable gives a table writing to w with the given header.
func NewTable(w io.Writer, header ...string) *tablewriter.Table {
	opts := []tablewriter.Option{
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAlignment(tw.AlignLeft),
	}
	if width := Width(w); width > 0 {
		opts = append(opts, tablewriter.WithMaxWidth(width), tablewriter.WithRowAutoWrap(tw.WrapNormal),
			tablewriter.WithHeaderAutoWrap(tw.WrapBreak))
	}
	t := tablewriter.NewTable(w, opts...)
	if len(header) > 0 {
		h := make([]any, len(header))
		for i, s := range header {
			h[i] = s
		}
		t.Header(h...)
	}
	return t
}

// Render prints rows under header in one call.
func Render(w io.Writer, header []string, rows [][]string) error {
	t := NewTable(w, header...)
	for _, r := range rows {
		if err := t.Append(r); err != nil {
			return err
		}
	}
	return t.Render()
}

// Bytes renders a byte count for people: 512 B, 1.5 KiB, 3.2 GiB.
func Bytes(b int64) string {
	const unit = 1024
	if b < unit {
		return fmt.Sprintf("%d B", b)
	}
	div, exp := int64(unit), 0
	for n := b / unit; n >= unit; n /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(b)/float64(div), "KMGTPE"[exp])
}

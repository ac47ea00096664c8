package billing

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tidemark/tidemark/domain/energy"
)

// MaxRowErrors bounds the row errors ParseStatement lists; past it one
// summary entry tells how many more there were and where the first was.
const MaxRowErrors = 1000

// Statement is a platform statement: one row per charge.
type Statement struct {
	// Header tells that a header row naming the required columns was
	// found; Headless that the first row was data, read in domain.md's
	// column order. With neither no row can be read (RowErrors says why).
	Header    bool
	Headless  bool
	Rows      []StatementRow
	RowErrors []RowError // the rows that could not be read, also returned by ParseStatement
}

// Readable reports whether the statement's columns are known: by a header
// row, or in domain.md's order when the first row is data.
func (s Statement) Readable() bool { return s.Header || s.Headless }

// StatementRow is one charge of the statement.
type StatementRow struct {
	Line      int        `json:"line"` // 1-based line of the file (the header is a line)
	OrderID   string     `json:"orderId"`
	Hash      string     `json:"hash"` // as written; "" when the charge has none
	AmountSun int64      `json:"amountSun"`
	Time      *time.Time `json:"time,omitempty"` // nil when the row gives none
}

// RowError is a statement row that could not be read.
type RowError struct {
	Line   int    `json:"line"`
	Column string `json:"column,omitempty"`
	Reason string `json:"reason"`
}

func (e RowError) Error() string {
	if e.Column != "" {
		return fmt.Sprintf("line %d: %s: %s", e.Line, e.Column, e.Reason)
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Reason)
}

// Statement columns.
const (
	colOrderID   = "orderId"
	colHash      = "hash"
	colAmountSun = "amountSun"
	colTime      = "time"
)

// ParseStatement reads a statement CSV (see the package doc for the
// format). Every row that cannot be read is reported with its line number
// and reason, and left out of the statement; nothing is skipped silently
// except blank lines. The row errors are also kept in Statement.RowErrors.
func ParseStatement(r io.Reader) (Statement, []RowError) {
	p := statementParser{}
	p.parse(r)
	if n := p.unlisted; n > 0 {
		p.errs = append(p.errs, RowError{Line: p.firstUnlisted,
			Reason: fmt.Sprintf("%d more malformed rows not listed (the first at line %d)", n, p.firstUnlisted)})
	}
	p.st.RowErrors = p.errs
	return p.st, p.errs
}

type statementParser struct {
	st    Statement
	errs  []RowError
	total int64 // sum of the rows kept, so that an overflow is a row error

	unlisted, firstUnlisted int
}

func (p *statementParser) fail(line int, column, reason string) {
	if len(p.errs) < MaxRowErrors {
		p.errs = append(p.errs, RowError{Line: line, Column: column, Reason: reason})
		return
	}
	if p.unlisted == 0 {
		p.firstUnlisted = line
	}
	p.unlisted++
}

func (p *statementParser) parse(r io.Reader) {
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && string(b) == "\uFEFF" {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1 // field counts are checked per row, against the header
	cr.ReuseRecord = true
	var cols map[string]int
	width, line := 0, 1
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				p.fail(line, "", "cannot read the statement after this line: "+err.Error())
				return
			}
			reason := pe.Err.Error()
			if pe.Line > pe.StartLine {
				reason += fmt.Sprintf(" (the record runs to line %d; lines %d to %d are not read)", pe.Line, pe.StartLine, pe.Line)
			}
			p.fail(pe.StartLine, "", reason)
			continue
		}
		line, _ = cr.FieldPos(0)
		if blank(rec) {
			continue
		}
		if cols == nil {
			if cols, width = headless(rec); cols != nil {
				p.st.Headless = true
				p.row(line, rec, cols, width) // no header: the columns in domain.md's order
				continue
			}
			cols, width = p.header(line, rec)
			if cols == nil {
				return // without a header no row can be read; the error says so
			}
			p.st.Header = true
			continue
		}
		p.row(line, rec, cols, width)
	}
	if cols == nil && len(p.errs) == 0 {
		p.fail(1, "", "empty statement: a header row orderId,hash,amountSun[,time] is required")
	}
}

// headless reads a first row that is data, not a header: 3 or 4 cells
// whose third is an amount (digits). The columns are then domain.md's
// orderId,hash,amountSun[,time], in that order.
func headless(rec []string) (map[string]int, int) {
	if len(rec) != 3 && len(rec) != 4 || !allDigits(strings.TrimSpace(rec[2])) {
		return nil, 0
	}
	cols := map[string]int{colOrderID: 0, colHash: 1, colAmountSun: 2}
	if len(rec) == 4 {
		cols[colTime] = 3
	}
	return cols, len(rec)
}

// header maps the known column names to their index.
func (p *statementParser) header(line int, rec []string) (map[string]int, int) {
	known := map[string]string{}
	for _, c := range []string{colOrderID, colHash, colAmountSun, colTime} {
		known[strings.ToLower(c)] = c
	}
	cols := map[string]int{}
	for i, name := range rec {
		c, ok := known[strings.ToLower(strings.TrimSpace(name))]
		if !ok {
			continue // other columns are allowed and ignored
		}
		if _, dup := cols[c]; dup {
			p.fail(line, c, "header names the column twice")
			return nil, 0
		}
		cols[c] = i
	}
	var missing []string
	for _, c := range []string{colOrderID, colHash, colAmountSun} {
		if _, ok := cols[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		reason := "the first row must be a header naming orderId, hash, amountSun (and optionally time); missing: " +
			strings.Join(missing, ", ")
		if len(rec) == 1 && strings.ContainsAny(rec[0], ";\t") {
			reason += " (the columns must be separated by commas, not semicolons or tabs)"
		}
		p.fail(line, "", reason)
		return nil, 0
	}
	return cols, len(rec)
}

// row reads one data row; width is the header's field count.
func (p *statementParser) row(line int, rec []string, cols map[string]int, width int) {
	if len(rec) < width {
		p.fail(line, "", fmt.Sprintf("has %d fields, the header has %d", len(rec), width))
		return
	}
	if len(rec) > width && !blank(rec[width:]) {
		p.fail(line, "", fmt.Sprintf("has %d fields, the header has %d", len(rec), width))
		return
	}
	cell := func(c string) string { return strings.TrimSpace(rec[cols[c]]) }
	row := StatementRow{Line: line, OrderID: cell(colOrderID), Hash: cell(colHash)}
	if row.OrderID == "" {
		p.fail(line, colOrderID, "is required")
		return
	}
	if row.Hash != "" && !energy.ValidTxHash(row.Hash) {
		p.fail(line, colHash, fmt.Sprintf("%q is not a transaction hash of 64 hex digits", clip(row.Hash)))
		return
	}
	amount, reason := parseAmountSun(cell(colAmountSun))
	if reason != "" {
		p.fail(line, colAmountSun, reason)
		return
	}
	row.AmountSun = amount
	if i, ok := cols[colTime]; ok {
		if v := strings.TrimSpace(rec[i]); v != "" {
			t, reason := parseStatementTime(v)
			if reason != "" {
				p.fail(line, colTime, reason)
				return
			}
			row.Time = &t
		}
	}
	total, err := addSun(p.total, amount)
	if err != nil {
		p.fail(line, colAmountSun, "the statement's total no longer fits in int64 sun")
		return
	}
	p.total = total
	p.st.Rows = append(p.st.Rows, row)
}

// Unix times a statement may give: seconds or milliseconds from
// 2001-09-09 (10 or 13 digits) up to the year 5138. Other integers are
// refused, not read as some date in 1970.
const (
	unixSecondsFrom = 1_000_000_000
	unixSecondsTo   = 100_000_000_000 // exclusive
	unixMillisFrom  = unixSecondsFrom * 1000
	unixMillisTo    = unixSecondsTo * 1000
)

// parseStatementTime reads a statement's time: RFC 3339, also with a space
// for the T, or Unix time as an integer of seconds or milliseconds. A date
// and time without an offset is refused rather than guessed: a platform's
// local time read as UTC would move a charge across a window's edge by
// hours. The reason says why not.
func parseStatementTime(v string) (time.Time, string) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && v[0] != '+' {
		switch {
		case n >= unixSecondsFrom && n < unixSecondsTo:
			return time.Unix(n, 0).UTC(), ""
		case n >= unixMillisFrom && n < unixMillisTo:
			return time.UnixMilli(n).UTC(), ""
		}
		return time.Time{}, fmt.Sprintf("%q is not a Unix time (seconds or milliseconds since 1970, after 2001-09-09)", clip(v))
	}
	iso := v
	if len(iso) > 10 && iso[10] == ' ' {
		iso = iso[:10] + "T" + iso[11:]
	}
	if t, err := time.Parse(time.RFC3339Nano, iso); err == nil {
		return t.UTC(), ""
	}
	if _, err := time.Parse("2006-01-02T15:04:05.999999999", iso); err == nil {
		return time.Time{}, fmt.Sprintf("%q has no UTC offset: add Z or one like +08:00 (e.g. 2026-11-22T10:00:00+08:00)", clip(v))
	}
	return time.Time{}, fmt.Sprintf("%q is not an RFC 3339 time (e.g. 2026-11-22T10:00:00Z) nor Unix seconds or milliseconds", clip(v))
}

// parseAmountSun reads an integer number of sun > 0; the reason says why not.
func parseAmountSun(v string) (int64, string) {
	digits, signed := strings.CutPrefix(v, "-")
	if !signed {
		digits, signed = strings.CutPrefix(v, "+")
	}
	switch {
	case v == "":
		return 0, "is required"
	case strings.ContainsAny(v, ".,' "):
		return 0, fmt.Sprintf("%q is not an integer number of sun (a decimal point or separator: TRX amounts must be converted, 1 TRX = 1000000 sun)", clip(v))
	case strings.ContainsAny(v, "eE"):
		return 0, fmt.Sprintf("%q is in exponent notation; write the exact integer number of sun", clip(v))
	case !allDigits(digits):
		return 0, fmt.Sprintf("%q is not an integer number of sun", clip(v))
	case signed:
		return 0, fmt.Sprintf("%q has a sign: a statement lists charges, written as digits only", clip(v))
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	switch {
	case err != nil:
		return 0, fmt.Sprintf("%q does not fit in int64 sun", clip(v))
	case n == 0:
		return 0, "0 is not a charge (the ledger holds only callbacks with orderMoney > 0)"
	}
	return n, ""
}

// allDigits reports whether s is one or more ASCII digits.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// blank reports whether every cell is empty or white space.
func blank(rec []string) bool {
	for _, c := range rec {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// clip shortens a value quoted in a reason, at a rune boundary.
func clip(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

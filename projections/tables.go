package projections

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// ColType is a read-model column type; each dialect maps it to its own.
type ColType int

// Column types.
const (
	Int64 ColType = iota // BIGINT | INTEGER
	Text                 // TEXT
	Bool                 // BOOLEAN | INTEGER 0/1
	JSON                 // JSONB | TEXT
	Time                 // TIMESTAMPTZ | INTEGER unix microseconds
)

// Column describes one column of a read-model table.
type Column struct {
	Name     string
	Type     ColType
	Nullable bool
}

// Table describes a read-model table once; the DDL of each dialect and of
// each version (devices_v2, devices_asof_...) is generated from it.
type Table struct {
	Name    string     // base name, e.g. "devices"
	Columns []Column   // in the order rows are written
	Key     []string   // primary key columns
	Indexes [][]string // secondary indexes, each a column list
	// FillFactor, if set, is the PostgreSQL fillfactor (percent of each
	// page filled by inserts): room left on a page lets an update that
	// changes no indexed column stay on it (HOT) and skip the indexes.
	FillFactor int
	// KeyOrdered stores the rows in their key's B-tree on SQLite (WITHOUT
	// ROWID): for small rows under a composite key, one B-tree to write
	// instead of the table's and its key index's.
	KeyOrdered bool
}

var identRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)

// maxIdent is PostgreSQL's identifier limit (NAMEDATALEN-1).
const maxIdent = 63

func checkIdent(s string) error {
	if !identRe.MatchString(s) || len(s) > maxIdent {
		return fmt.Errorf("projections: bad SQL identifier %q", s)
	}
	return nil
}

// quote renders an identifier already checked by checkIdent; both dialects
// accept double quotes.
func quote(s string) string { return `"` + s + `"` }

// physical is the table name of one version of a projection's table.
func physical(base, suffix string) string { return base + "_" + suffix }

func versionSuffix(v int) string { return fmt.Sprintf("v%d", v) }

// asOfSuffix names a point-in-time copy, e.g. asof_20261122T100000.
func asOfSuffix(t time.Time) string { return "asof_" + t.UTC().Format(asOfLayout) }

func (t *Table) colNames() []string {
	out := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		out[i] = c.Name
	}
	return out
}

// columnIndex is the position of the named column in a row; -1 if none.
func (t *Table) columnIndex(name string) int {
	for i, c := range t.Columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

func (t *Table) validate() error {
	if err := checkIdent(t.Name); err != nil {
		return err
	}
	if len(t.Columns) == 0 || len(t.Key) == 0 {
		return fmt.Errorf("projections: table %s needs columns and a key", t.Name)
	}
	have := map[string]bool{}
	for _, c := range t.Columns {
		if err := checkIdent(c.Name); err != nil {
			return err
		}
		have[c.Name] = true
	}
	for _, idx := range append([][]string{t.Key}, t.Indexes...) {
		for _, c := range idx {
			if !have[c] {
				return fmt.Errorf("projections: table %s: unknown column %q in key or index", t.Name, c)
			}
		}
	}
	return nil
}

func (f flavor) colType(c ColType) string {
	pg := f == flavorPostgres
	switch c {
	case Int64:
		if pg {
			return "BIGINT"
		}
		return "INTEGER"
	case Bool:
		if pg {
			return "BOOLEAN"
		}
		return "INTEGER"
	case JSON:
		if pg {
			return "JSON"
		}
		return "TEXT"
	case Time:
		if pg {
			return "TIMESTAMPTZ"
		}
		return "INTEGER"
	default:
		return "TEXT"
	}
}

// createSQL creates the table. On PostgreSQL a bulk load creates it without
// its key and adds key and indexes afterwards (faster COPY); SQLite cannot
// add a primary key later, so it always has it (an INTEGER key is the rowid).
func (t *Table) createSQL(f flavor, name string, withKey bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE %s (", quote(name))
	for i, c := range t.Columns {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %s", quote(c.Name), f.colType(c.Type))
		if c.Type == Text && f == flavorPostgres {
			b.WriteString(` COLLATE "C"`) // byte order: cheaper index compares, same order as SQLite
		}
		if !c.Nullable {
			b.WriteString(" NOT NULL")
		}
	}
	if withKey || f == flavorSQLite {
		fmt.Fprintf(&b, ", PRIMARY KEY (%s)", quoteList(t.Key))
	}
	b.WriteString(")")
	if f == flavorSQLite && t.KeyOrdered {
		b.WriteString(" WITHOUT ROWID")
	}
	var with []string
	if f == flavorPostgres && t.hasJSON() {
		// Rows up to a page stay whole and uncompressed: past the default
		// 2 kB target every write of a larger state was pglz-compressed,
		// which cost a rebuild's COPY of the orders about 40% more.
		with = append(with, "toast_tuple_target = 8160")
	}
	if f == flavorPostgres && t.FillFactor > 0 {
		with = append(with, fmt.Sprintf("fillfactor = %d", t.FillFactor))
	}
	if len(with) > 0 {
		fmt.Fprintf(&b, " WITH (%s)", strings.Join(with, ", "))
	}
	return b.String()
}

func (t *Table) hasJSON() bool {
	for _, c := range t.Columns {
		if c.Type == JSON {
			return true
		}
	}
	return false
}

// keySQL adds the primary key after a bulk load (PostgreSQL only).
func (t *Table) keySQL(f flavor, name string) []string {
	if f != flavorPostgres {
		return nil
	}
	return []string{fmt.Sprintf("ALTER TABLE %s ADD PRIMARY KEY (%s)", quote(name), quoteList(t.Key))}
}

func (t *Table) indexSQL(name string) ([]string, error) {
	var out []string
	for _, cols := range t.Indexes {
		idx := name + "_" + strings.Join(cols, "_")
		if len(idx) > maxIdent {
			idx = fmt.Sprintf("%s_i%d", name, len(out)+1)
		}
		if err := checkIdent(idx); err != nil {
			return nil, err
		}
		out = append(out, fmt.Sprintf("CREATE INDEX %s ON %s (%s)", quote(idx), quote(name), quoteList(cols)))
	}
	return out, nil
}

func dropSQL(name string) string { return "DROP TABLE IF EXISTS " + quote(name) }

func quoteList(cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = quote(c)
	}
	return strings.Join(q, ", ")
}

// encode turns a fold's Go value into what the dialect binds for the column.
func (f flavor) encode(c ColType, v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case *bool:
		if x == nil {
			return nil
		}
		return f.encode(c, *x)
	case bool:
		if f == flavorSQLite {
			if x {
				return int64(1)
			}
			return int64(0)
		}
		return x
	case time.Time:
		if x.IsZero() && c == Time {
			return nil
		}
		return f.timeArg(x)
	case []byte:
		if c == JSON || c == Text {
			return string(x)
		}
		return x
	default:
		return v
	}
}

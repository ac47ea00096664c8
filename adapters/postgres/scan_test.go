package postgres

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tidemark/tidemark/domain"
)

// A log-order scan with a type prefix crosses chunks that hold only
// matching rows: every matching event comes once, in log order, whether
// the matches are dense, rare, or absent from whole chunks.
func TestScanLogOrderAcrossChunks(t *testing.T) {
	s, _ := freshStore(t)
	s.scanChunk = 3
	ctx := ctxT(t)
	// 40 events; "want." ones are dense at first, then every seventh.
	for i := range 40 {
		typ := "other.Event"
		if i < 8 || i%7 == 0 {
			typ = "want.Event"
		}
		if _, err := s.Append(ctx, domain.AppendRequest{Stream: fmt.Sprintf("scan-%d", i%5), Expected: domain.AnyVersion,
			Events: []domain.NewEvent{ev(newID(), typ, `{}`)}}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.ReadAll(ctx, domain.Start, 100)
	if err != nil {
		t.Fatal(err)
	}
	head := all[len(all)-1].Position
	for _, c := range []struct {
		name   string
		prefix string
		after  domain.Position
	}{
		{"wanted type", "want.", domain.Start},
		{"wanted type, after the dense part", "want.", all[9].Position},
		{"all types", "", domain.Start},
		{"no such type", "none.", domain.Start},
	} {
		var want []string
		for _, e := range all {
			if strings.HasPrefix(e.Type, c.prefix) && c.after.Less(e.Position) {
				want = append(want, e.ID)
			}
		}
		var got []string
		err := s.ScanAll(ctx, domain.Scan{After: c.after, Through: head, Batch: 2, TypePrefix: c.prefix}, func(batch []domain.Event) error {
			for _, e := range batch {
				got = append(got, e.ID)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: got %d events %v\nwant %d %v", c.name, len(got), got, len(want), want)
		}
	}
}

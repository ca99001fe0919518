package events_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/relator/relator/events"
	"github.com/relator/relator/internal/pgtest"
)

func TestImportUpsertsAndCounts(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t)

	first := `{"id":"a","occurred_at":"2015-09-01","summary":"Alpha","story":"s"}
{"id":"b","occurred_at":"2015-09-02","summary":"Beta"}
{"id":"c","occurred_at":"2015-09-03","summary":"Gamma"}
`
	st, err := events.Import(ctx, pool, strings.NewReader(first))
	if err != nil {
		t.Fatal(err)
	}
	if st != (events.ImportStats{Lines: 3, Inserted: 3}) {
		t.Fatalf("first import: %+v", st)
	}
	st, err = events.Import(ctx, pool, strings.NewReader(first))
	if err != nil {
		t.Fatal(err)
	}
	if st != (events.ImportStats{Lines: 3, Unchanged: 3}) {
		t.Fatalf("same file again: %+v", st)
	}

	var hashBefore []byte
	pool.QueryRow(ctx, `SELECT content_hash FROM events WHERE source_id = 'b'`).Scan(&hashBefore)
	second := `{"id":"a","occurred_at":"2015-09-01","summary":"Alpha","story":"changed"}
{"id":"b","occurred_at":"2015-09-02","summary":"Beta, revised"}
{"id":"d","occurred_at":"2015-09-04","summary":"Delta"}
{"id":"d","occurred_at":"2015-09-04","summary":"Delta, later line"}
`
	st, err = events.Import(ctx, pool, strings.NewReader(second))
	if err != nil {
		t.Fatal(err)
	}
	if st != (events.ImportStats{Lines: 4, Inserted: 1, Updated: 2, Superseded: 1}) {
		t.Fatalf("second import: %+v", st)
	}
	b, err := events.BySourceID(ctx, pool, "b")
	if err != nil {
		t.Fatal(err)
	}
	if b.Summary != "Beta, revised" || string(b.ContentHash()) == string(hashBefore) {
		t.Fatalf("b not updated: %+v", b)
	}
	d, _ := events.BySourceID(ctx, pool, "d")
	if d.Summary != "Delta, later line" {
		t.Fatalf("the later line of an id must win: %q", d.Summary)
	}
	a, _ := events.BySourceID(ctx, pool, "a")
	if a.Metadata["story"] != "changed" {
		t.Fatalf("metadata: %v", a.Metadata)
	}
	if _, err := events.BySourceID(ctx, pool, "zz"); !errors.Is(err, events.ErrNotFound) {
		t.Fatalf("missing event: %v", err)
	}
}

func TestImportMalformedLineWritesNothing(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t)
	if _, err := events.Import(ctx, pool, strings.NewReader(`{"id":"a","occurred_at":"2015-09-01","summary":"A"}`+"\n")); err != nil {
		t.Fatal(err)
	}
	bad := `{"id":"a","occurred_at":"2015-09-01","summary":"A changed"}
{"id":"b","occurred_at":"2015-09-02","summary":"B"}
{"id":"c","occurred_at":"yesterday","summary":"C"}
`
	_, err := events.Import(ctx, pool, strings.NewReader(bad))
	var le *events.LineError
	if !errors.As(err, &le) || le.Line != 3 || le.Field != "occurred_at" {
		t.Fatalf("err = %v; want line 3, field occurred_at", err)
	}
	n, _ := events.Count(ctx, pool)
	a, _ := events.BySourceID(ctx, pool, "a")
	if n != 1 || a.Summary != "A" {
		t.Fatalf("a failed import wrote something: %d events, a = %q", n, a.Summary)
	}
}

// Hostile input is refused by the reader, naming line and field, before
// PostgreSQL can refuse it with a bare SQLSTATE (22P05 for a NUL in jsonb).
func TestImportHostileLinesNameLineAndField(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t)
	good := `{"id":"a","occurred_at":"2015-09-01","summary":"A"}` + "\n"
	for _, tc := range []struct{ line, field string }{
		{`{"id":"b","occurred_at":"2015-09-02","summary":"B","story":"\u0000"}`, "story"},
		{`{"id":"b","occurred_at":"2015-09-02","summary":"B","actors":["\u0000"]}`, "actors[0]"},
		{`{"id":"b","occurred_at":"2015-09-02","summary":"B","sources":["http://x\u0000"]}`, "sources[0]"},
		{"{\"id\":\"b\",\"occurred_at\":\"2015-09-02\",\"summary\":\"B\xc3\"}", "summary"},
		{`{"id":"b","occurred_at":"9999-12-31","summary":"B"}`, "occurred_at"},
	} {
		_, err := events.Import(ctx, pool, strings.NewReader(good+tc.line+"\n"))
		var le *events.LineError
		if !errors.As(err, &le) || le.Line != 2 || le.Field != tc.field {
			t.Errorf("%s: err = %v; want line 2, field %s", tc.line, err, tc.field)
		}
	}
	if n, _ := events.Count(ctx, pool); n != 0 {
		t.Fatalf("failed imports wrote %d events", n)
	}
}

func TestImportOuterWhitespaceOfIDsIsOneEvent(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t)
	st, err := events.Import(ctx, pool, strings.NewReader(`{"id":" px700 ","occurred_at":"2015-09-01","summary":"A"}
{"id":"px700","occurred_at":"2015-09-01","summary":"A, later"}
`))
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := events.Count(ctx, pool); n != 1 || st.Superseded != 1 {
		t.Fatalf("%d events, %+v: want one", n, st)
	}
	if ev, err := events.BySourceID(ctx, pool, "px700"); err != nil || ev.Summary != "A, later" {
		t.Fatalf("px700: %+v, %v", ev, err)
	}
}

func TestImportDevelopmentSet(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t)
	f, err := os.Open("../testdata/wikitimes-2015-09/events.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := events.Import(ctx, pool, f)
	if err != nil {
		t.Fatal(err)
	}
	if st.Inserted != 428 {
		t.Fatalf("%+v", st)
	}
	refs, err := events.InOrder(ctx, pool)
	if err != nil || len(refs) != 428 {
		t.Fatalf("InOrder: %d, %v", len(refs), err)
	}
}

func BenchmarkImport(b *testing.B) {
	ctx := context.Background()
	pool := pgtest.New(b)
	var sb strings.Builder
	const n = 100_000
	for i := range n {
		fmt.Fprintf(&sb, `{"id":"e%d","occurred_at":"2020-01-%02dT10:00:00Z","title":"Event %d","summary":"Something happened in place %d, officials said.","actors":["Actor %d",{"name":"Other","response":"Denied it."}],"sources":["https://example.org/%d"],"story":"s%d"}`+"\n",
			i, 1+i%28, i, i, i%97, i, i%1000)
	}
	data := sb.String()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for range b.N {
		if _, err := pool.Exec(ctx, `TRUNCATE events CASCADE`); err != nil {
			b.Fatal(err)
		}
		st, err := events.Import(ctx, pool, strings.NewReader(data))
		if err != nil || st.Inserted != n {
			b.Fatal(st, err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

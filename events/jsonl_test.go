package events

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func readAll(t *testing.T, in string) ([]Event, error) {
	t.Helper()
	r := NewReader(strings.NewReader(in))
	var out []Event
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, ev)
	}
}

func TestReaderAcceptsEveryShapeOfDESIGN(t *testing.T) {
	in := `{"id":"a","occurred_at":"2015-09-01","title":null,"summary":"S","actors":["Hungary"],"sources":["http://x"],"story":"Migrants","n":1.50}

{"id":"b","occurred_at":"2026-04-12T09:30:00+02:00","title":"T","summary":null,"content":"C",` +
		`"actors":[{"name":"Iran","response":"Open to talks."}],"sources":[{"url":"http://y","title":"Y"}]}
`
	evs, err := readAll(t, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 {
		t.Fatalf("got %d events", len(evs))
	}
	a, b := evs[0], evs[1]
	if !a.OccurredAt.Equal(time.Date(2015, 9, 1, 0, 0, 0, 0, time.UTC)) || a.Title != "" || a.Summary != "S" {
		t.Errorf("a = %+v", a)
	}
	if a.Metadata["story"] != "Migrants" || a.Metadata["n"].(interface{ String() string }).String() != "1.50" {
		t.Errorf("unknown fields not kept as written: %v", a.Metadata)
	}
	if len(a.Actors) != 1 || a.Actors[0].Name != "Hungary" || a.Sources[0].URL != "http://x" {
		t.Errorf("a actors/sources = %+v %+v", a.Actors, a.Sources)
	}
	if !b.OccurredAt.Equal(time.Date(2026, 4, 12, 7, 30, 0, 0, time.UTC)) || b.OccurredAt.Location() != time.UTC {
		t.Errorf("b time = %v", b.OccurredAt)
	}
	if b.Actors[0] != (Actor{"Iran", "Open to talks."}) || b.Sources[0] != (Source{"http://y", "Y"}) || b.Content != "C" {
		t.Errorf("b = %+v", b)
	}
}

func TestReaderNamesLineAndField(t *testing.T) {
	good := `{"id":"a","occurred_at":"2015-09-01","summary":"S"}` + "\n"
	for _, tc := range []struct{ line, want string }{
		{`{"id":"b","occurred_at":"2015-09-01","summary":"S"`, `line 2: not a JSON object`},
		{`["b"]`, `line 2: not a JSON object`},
		{`{"occurred_at":"2015-09-01","summary":"S"}`, `line 2: field "id": missing`},
		{`{"id":7,"occurred_at":"2015-09-01","summary":"S"}`, `line 2: field "id": want a string, got a number`},
		{`{"id":" ","occurred_at":"2015-09-01","summary":"S"}`, `line 2: field "id": empty`},
		{`{"id":"b","summary":"S"}`, `line 2: field "occurred_at": missing`},
		{`{"id":"b","occurred_at":"1 Sept 2015","summary":"S"}`, `line 2: field "occurred_at": "1 Sept 2015" is neither`},
		{`{"id":"b","occurred_at":"2015-09-01","title":null,"summary":""}`, `line 2: field "title": title and summary are both empty`},
		{`{"id":"b","occurred_at":"2015-09-01","summary":["S"]}`, `line 2: field "summary": want a string, got an array`},
		{`{"id":"b","occurred_at":"2015-09-01","summary":"S","actors":"Iran"}`, `line 2: field "actors": want an array, got a string`},
		{`{"id":"b","occurred_at":"2015-09-01","summary":"S","actors":[{"nam":"Iran"}]}`, `line 2: field "actors[0]": want a string or an object`},
		{`{"id":"b","occurred_at":"2015-09-01","summary":"S","actors":[{"response":"x"}]}`, `line 2: field "actors[0]": no name`},
		{`{"id":"b","occurred_at":"2015-09-01","summary":"S","sources":[3]}`, `line 2: field "sources[0]": want a string or an object`},
		{`{"id":"b","occurred_at":"2015-09-01","summary":"S\u0000"}`, `line 2: field "summary": contains a NUL`},
		{`{"id":"b","occurred_at":"2015-09-01","summary":"S","story":"x\u0000"}`, `line 2: field "story": contains a NUL`},
		{`{"id":"b","occurred_at":"2015-09-01","summary":"S","extra":{"k":["\u0000"]}}`, `line 2: field "extra": contains a NUL`},
		{`{"id":"b","occurred_at":"2015-09-01","summary":"S","actors":["Ir\u0000an"]}`, `line 2: field "actors[0]": contains a NUL`},
		{`{"id":"b","occurred_at":"2015-09-01","summary":"S","actors":[{"name":"Iran","response":"\u0000"}]}`, `line 2: field "actors[0]": contains a NUL`},
		{`{"id":"b","occurred_at":"2015-09-01","summary":"S","sources":["http://x/\u0000"]}`, `line 2: field "sources[0]": contains a NUL`},
		{`{"id":"b","occurred_at":"2015-09-01","summary":"S","sources":[{"url":"http://x","title":"\u0000"}]}`, `line 2: field "sources[0]": contains a NUL`},
		{`{"id":"b","occurred_at":"2015-09-01","summary":"S","a\u0000":1}`, `line 2: field "a\x00": field name contains a NUL`},
		{"{\"id\":\"b\",\"occurred_at\":\"2015-09-01\",\"summary\":\"caf\xe9\"}", `line 2: field "summary": invalid UTF-8`},
		{"{\"id\":\"b\",\"occurred_at\":\"2015-09-01\",\"summary\":\"S\",\"actors\":[\"\xff\"]}", `line 2: field "actors": invalid UTF-8`},
		{"{\"id\":\"b\",\"occurred_at\":\"2015-09-01\",\"summary\":\"S\",\"\xff\":1}", `line 2: invalid UTF-8 in a field name`},
		{`{"id":"b","occurred_at":"0000-01-01","summary":"S"}`, `line 2: field "occurred_at": 0000-01-01 is outside 1800-01-01..2199-12-31`},
		{`{"id":"b","occurred_at":"9999-12-31","summary":"S"}`, `line 2: field "occurred_at": 9999-12-31 is outside`},
		{`{"id":"b","occurred_at":"2200-01-01T00:00:00Z","summary":"S"}`, `line 2: field "occurred_at": 2200-01-01T00:00:00Z is outside`},
		{`{"id":"b","occurred_at":"1799-12-31T23:59:59Z","summary":"S"}`, `line 2: field "occurred_at": 1799-12-31T23:59:59Z is outside`},
	} {
		_, err := readAll(t, good+tc.line+"\n"+good)
		var le *LineError
		if !errors.As(err, &le) || le.Line != 2 || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s\n  err = %v\n want prefix %q", tc.line, err, tc.want)
		}
	}
}

func TestContentHashIgnoresSourcesAndMetadata(t *testing.T) {
	evs, err := readAll(t, `{"id":"a","occurred_at":"2015-09-01","summary":"S","sources":["http://x"],"story":"A"}
{"id":"a","occurred_at":"2015-09-01","summary":"S","sources":["http://y"],"story":"B"}
{"id":"a","occurred_at":"2015-09-01","summary":"S2"}
{"id":"a","occurred_at":"2015-09-01","summary":"S","actors":["X"]}
`)
	if err != nil {
		t.Fatal(err)
	}
	h := func(i int) string { return string(evs[i].ContentHash()) }
	if h(0) != h(1) {
		t.Error("a source or metadata change must not change the content hash")
	}
	if h(0) == h(2) || h(0) == h(3) {
		t.Error("a summary or actor change must change the content hash")
	}
}

func TestReaderTrimsIDsAndKeepsDatesAtTheBounds(t *testing.T) {
	evs, err := readAll(t, `{"id":" px700\t","occurred_at":"1800-01-01","summary":"S"}
{"id":"px701","occurred_at":"2199-12-31T23:59:59Z","summary":"S"}
`)
	if err != nil {
		t.Fatal(err)
	}
	if evs[0].SourceID != "px700" {
		t.Errorf("id %q: outer whitespace kept", evs[0].SourceID)
	}
	if evs[1].OccurredAt.Year() != 2199 {
		t.Errorf("latest day refused: %v", evs[1].OccurredAt)
	}
}

func TestReaderDateRangeIsASetting(t *testing.T) {
	in := `{"id":"a","occurred_at":"1700-05-01","summary":"S"}` + "\n"
	if _, err := readAll(t, in); err == nil {
		t.Fatal("1700 accepted under the default range")
	}
	r := NewReaderOptions(strings.NewReader(in), ReadOptions{Earliest: time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC)})
	if ev, err := r.Next(); err != nil || ev.OccurredAt.Year() != 1700 {
		t.Fatalf("got %v, %v", ev, err)
	}
}

func TestReaderSkipsAByteOrderMark(t *testing.T) {
	evs, err := readAll(t, "\uFEFF"+`{"id":"a","occurred_at":"2015-09-01","summary":"S"}`+"\n")
	if err != nil || len(evs) != 1 || evs[0].SourceID != "a" {
		t.Fatalf("%+v, %v", evs, err)
	}
	if _, err := readAll(t, `{"id":"a","occurred_at":"2015-09-01","summary":"S"}`+"\n\uFEFF"+`{"id":"b","occurred_at":"2015-09-01","summary":"S"}`+"\n"); err == nil {
		t.Fatal("a byte order mark inside the file is not JSON")
	}
}

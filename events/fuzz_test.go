package events

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParse: whatever the bytes, the reader returns events that keep the
// contract or a *LineError naming a line; it never panics, and what it
// returns can be stored (valid UTF-8, no NUL, a trimmed id, a date in range,
// metadata that marshals). Seeds: testdata/fuzz/FuzzParse and below.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"id":"a","occurred_at":"2015-09-01","summary":"S"}`,
		`{"id":" px700 ","occurred_at":"2026-04-12T09:30:00+02:00","title":"T","content":"C","actors":[{"name":"Iran","response":"r"}],"sources":[{"url":"http://y","title":"Y"}],"story":null,"n":1.50}`,
		`{"id":"b","occurred_at":"0000-01-01","summary":"S"}`,
		`{"id":"b","occurred_at":"2015-09-01","summary":"S","story":"x\u0000"}`,
		"{\"id\":\"b\",\"occurred_at\":\"2015-09-01\",\"summary\":\"caf\xe9\"}",
		`{"id":"b","occurred_at":"2015-09-01","summary":"\ud800"}`,
		"\n\n{\"id\":\"a\",\"occurred_at\":\"2015-09-01\",\"title\":\"x\"}\n[1,2]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(strings.NewReader(string(data)))
		for i := 0; ; i++ {
			ev, err := r.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				var le *LineError
				if !errors.As(err, &le) || le.Line < 1 {
					t.Fatalf("error without a line: %v", err)
				}
				return
			}
			if ev.SourceID == "" || ev.SourceID != strings.TrimSpace(ev.SourceID) {
				t.Fatalf("id %q", ev.SourceID)
			}
			if ev.Title == "" && ev.Summary == "" {
				t.Fatal("neither title nor summary")
			}
			if ev.OccurredAt.Before(DefaultEarliest) || ev.OccurredAt.After(DefaultLatest.AddDate(0, 0, 1)) {
				t.Fatalf("date %v out of range", ev.OccurredAt)
			}
			texts := []string{ev.SourceID, ev.Title, ev.Summary, ev.Content}
			for _, a := range ev.Actors {
				texts = append(texts, a.Name, a.Response)
			}
			for _, s := range ev.Sources {
				texts = append(texts, s.URL, s.Title)
			}
			meta, err := json.Marshal(ev.Metadata)
			if err != nil || !utf8.Valid(meta) || hasNUL(map[string]any(ev.Metadata)) {
				t.Fatalf("metadata cannot be stored: %s, %v", meta, err)
			}
			for _, s := range texts {
				if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
					t.Fatalf("unstorable text %q", s)
				}
			}
			if i > 1000 {
				return
			}
		}
	})
}

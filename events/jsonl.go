package events

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode/utf8"
)

// maxLine bounds one JSONL line, so that a file without newlines cannot
// exhaust memory. Long articles fit comfortably.
const maxLine = 16 << 20

// LineError is a malformed line of event JSONL.
type LineError struct {
	Line  int    // 1-based
	Field string // the field at fault; empty when the line is not a JSON object
	Err   error
}

func (e *LineError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("line %d: %v", e.Line, e.Err)
	}
	return fmt.Sprintf("line %d: field %q: %v", e.Line, e.Field, e.Err)
}

func (e *LineError) Unwrap() error { return e.Err }

// The default range of occurred_at (RELATOR_EARLIEST_DATE and
// RELATOR_LATEST_DATE): wide enough for any news archive, narrow enough that
// placeholder dates such as 0000-01-01 and 9999-12-31 are errors.
var (
	DefaultEarliest = time.Date(1800, 1, 1, 0, 0, 0, 0, time.UTC)
	DefaultLatest   = time.Date(2199, 12, 31, 0, 0, 0, 0, time.UTC)
)

// ReadOptions bound what a Reader accepts.
type ReadOptions struct {
	// Earliest and Latest bound occurred_at (both days included): a date
	// outside them is almost always a placeholder or a typo, and would sort
	// the event before or after every other. Zero: DefaultEarliest,
	// DefaultLatest.
	Earliest, Latest time.Time
}

func (o ReadOptions) withDefaults() ReadOptions {
	if o.Earliest.IsZero() {
		o.Earliest = DefaultEarliest
	}
	if o.Latest.IsZero() {
		o.Latest = DefaultLatest
	}
	return o
}

// Reader reads event JSONL (DESIGN.md) one event at a time.
type Reader struct {
	sc   *bufio.Scanner
	line int
	opts ReadOptions
}

// NewReader reads event JSONL from r with the default ReadOptions.
func NewReader(r io.Reader) *Reader { return NewReaderOptions(r, ReadOptions{}) }

// NewReaderOptions reads event JSONL from r.
func NewReaderOptions(r io.Reader, opts ReadOptions) *Reader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	return &Reader{sc: sc, opts: opts.withDefaults()}
}

// Line is the number of the line Next read last.
func (r *Reader) Line() int { return r.line }

// Next returns the next event, io.EOF after the last, or a *LineError naming
// the line and field at fault. Blank lines are skipped.
func (r *Reader) Next() (Event, error) {
	for r.sc.Scan() {
		r.line++
		b := r.sc.Bytes()
		if r.line == 1 {
			// A byte order mark, as some Windows tools write, is not part
			// of the first line's JSON.
			b = bytes.TrimPrefix(b, []byte("\uFEFF"))
		}
		b = bytes.TrimSpace(b)
		if len(b) == 0 {
			continue
		}
		ev, err := parse(b, r.opts)
		if err != nil {
			var le *LineError
			if errors.As(err, &le) {
				le.Line = r.line
				return Event{}, le
			}
			return Event{}, &LineError{Line: r.line, Err: err}
		}
		return ev, nil
	}
	if err := r.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return Event{}, &LineError{Line: r.line + 1, Err: fmt.Errorf("line longer than %d bytes", maxLine)}
		}
		return Event{}, fmt.Errorf("read events: %w", err)
	}
	return Event{}, io.EOF
}

func fieldErr(field string, format string, args ...any) error {
	return &LineError{Field: field, Err: fmt.Errorf(format, args...)}
}

// parse decodes one line. Known fields are checked for their types; the
// rest are kept in Metadata.
func parse(b []byte, opts ReadOptions) (Event, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return Event{}, fmt.Errorf("not a JSON object: %w", err)
	}
	// encoding/json replaces invalid UTF-8 by U+FFFD without a word: find
	// the field it is in before anything is decoded.
	if !utf8.Valid(b) {
		for k, v := range raw {
			if !utf8.Valid(v) {
				return Event{}, fieldErr(k, "invalid UTF-8")
			}
		}
		return Event{}, errors.New("invalid UTF-8 in a field name")
	}
	var ev Event
	var err error

	if ev.SourceID, err = str(raw, "id", true); err != nil {
		return Event{}, err
	}
	// Outer whitespace is an artifact of the export, never part of an id:
	// " px700 " and "px700" are the same event.
	if ev.SourceID = strings.TrimSpace(ev.SourceID); ev.SourceID == "" {
		return Event{}, fieldErr("id", "empty")
	}
	at, err := str(raw, "occurred_at", true)
	if err != nil {
		return Event{}, err
	}
	if ev.OccurredAt, err = parseTime(at); err != nil {
		return Event{}, fieldErr("occurred_at", "%v", err)
	}
	if day := ev.OccurredAt.Truncate(24 * time.Hour); day.Before(opts.Earliest) || day.After(opts.Latest) {
		return Event{}, fieldErr("occurred_at", "%s is outside %s..%s (RELATOR_EARLIEST_DATE, RELATOR_LATEST_DATE)",
			at, opts.Earliest.Format(time.DateOnly), opts.Latest.Format(time.DateOnly))
	}
	if ev.Title, err = str(raw, "title", false); err != nil {
		return Event{}, err
	}
	if ev.Summary, err = str(raw, "summary", false); err != nil {
		return Event{}, err
	}
	if strings.TrimSpace(ev.Title) == "" && strings.TrimSpace(ev.Summary) == "" {
		return Event{}, fieldErr("title", "title and summary are both empty; one is required")
	}
	ev.Title, ev.Summary = strings.TrimSpace(ev.Title), strings.TrimSpace(ev.Summary)
	if ev.Content, err = str(raw, "content", false); err != nil {
		return Event{}, err
	}
	ev.Content = strings.TrimSpace(ev.Content)
	if ev.Sources, err = sources(raw["sources"]); err != nil {
		return Event{}, err
	}
	if ev.Actors, err = actors(raw["actors"]); err != nil {
		return Event{}, err
	}
	for _, k := range []string{"id", "occurred_at", "title", "summary", "content", "sources", "actors"} {
		delete(raw, k)
	}
	if len(raw) > 0 {
		ev.Metadata = make(map[string]any, len(raw))
		for k, v := range raw {
			if strings.ContainsRune(k, 0) {
				return Event{}, fieldErr(k, "field name contains a NUL character")
			}
			var x any
			d := json.NewDecoder(bytes.NewReader(v))
			d.UseNumber() // keep numbers exactly as written
			if err := d.Decode(&x); err != nil {
				return Event{}, fieldErr(k, "%v", err)
			}
			if hasNUL(x) {
				// PostgreSQL's jsonb (and text) cannot hold one.
				return Event{}, fieldErr(k, "contains a NUL character")
			}
			ev.Metadata[k] = x
		}
	}
	return ev, nil
}

// hasNUL tells whether a decoded JSON value holds a NUL in a string or key.
func hasNUL(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.ContainsRune(v, 0)
	case []any:
		for _, x := range v {
			if hasNUL(x) {
				return true
			}
		}
	case map[string]any:
		for k, x := range v {
			if strings.ContainsRune(k, 0) || hasNUL(x) {
				return true
			}
		}
	}
	return false
}

// str reads an optional or required string field; null counts as absent.
func str(raw map[string]json.RawMessage, field string, required bool) (string, error) {
	v, ok := raw[field]
	if !ok || string(v) == "null" {
		if required {
			return "", fieldErr(field, "missing")
		}
		return "", nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", fieldErr(field, "want a string, got %s", kind(v))
	}
	if strings.ContainsRune(s, 0) {
		return "", fieldErr(field, "contains a NUL character")
	}
	return s, nil
}

func kind(v json.RawMessage) string {
	switch b := bytes.TrimSpace(v); {
	case len(b) == 0:
		return "nothing"
	case b[0] == '{':
		return "an object"
	case b[0] == '[':
		return "an array"
	case b[0] == '"':
		return "a string"
	case b[0] == 't' || b[0] == 'f':
		return "a boolean"
	default:
		return "a number"
	}
}

// parseTime accepts RFC 3339 or a YYYY-MM-DD date (midnight UTC).
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 timestamp nor a YYYY-MM-DD date", s)
}

func sources(v json.RawMessage) ([]Source, error) {
	items, err := array("sources", v)
	if err != nil {
		return nil, err
	}
	out := make([]Source, 0, len(items))
	for i, item := range items {
		field := fmt.Sprintf("sources[%d]", i)
		var s Source
		if err := stringOrObject(item, &s.URL, &s, field); err != nil {
			return nil, err
		}
		if s.URL = strings.TrimSpace(s.URL); s.URL == "" {
			return nil, fieldErr(field, "no url")
		}
		if strings.ContainsRune(s.URL, 0) || strings.ContainsRune(s.Title, 0) {
			return nil, fieldErr(field, "contains a NUL character")
		}
		out = append(out, s)
	}
	return out, nil
}

func actors(v json.RawMessage) ([]Actor, error) {
	items, err := array("actors", v)
	if err != nil {
		return nil, err
	}
	out := make([]Actor, 0, len(items))
	for i, item := range items {
		field := fmt.Sprintf("actors[%d]", i)
		var a Actor
		if err := stringOrObject(item, &a.Name, &a, field); err != nil {
			return nil, err
		}
		if a.Name = strings.TrimSpace(a.Name); a.Name == "" {
			return nil, fieldErr(field, "no name")
		}
		a.Response = strings.TrimSpace(a.Response)
		if strings.ContainsRune(a.Name, 0) || strings.ContainsRune(a.Response, 0) {
			return nil, fieldErr(field, "contains a NUL character")
		}
		out = append(out, a)
	}
	return out, nil
}

func array(field string, v json.RawMessage) ([]json.RawMessage, error) {
	if len(v) == 0 || string(v) == "null" {
		return nil, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(v, &items); err != nil {
		return nil, fieldErr(field, "want an array, got %s", kind(v))
	}
	return items, nil
}

// stringOrObject decodes item as a bare string into *s, or as an object into
// obj (whose unknown keys are an error: a typo should not vanish).
func stringOrObject(item json.RawMessage, s *string, obj any, field string) error {
	if err := json.Unmarshal(item, s); err == nil {
		return nil
	}
	d := json.NewDecoder(bytes.NewReader(item))
	d.DisallowUnknownFields()
	if err := d.Decode(obj); err != nil {
		return fieldErr(field, "want a string or an object: %v", err)
	}
	return nil
}

// ContentHash is a sha256 over exactly what embedding and analysis read:
// the time, title, summary, content and the actors' names. Sources,
// metadata and the actors' responses are left out — only `relator show`
// reads them — so that fixing a link or a response re-embeds and
// re-analyses nothing and costs no model call.
//
// The hashed bytes are "relator-content-v2\n", the time in microseconds
// since the Unix epoch and "\n", then the title, summary and content as
// "<bytes>:<text>\n" each, the number of actors and "\n", and each actor's
// name as "<bytes>:<name>\n". migrations/sql/004_provider.sql computes the
// same in SQL to rehash stored events; change both together.
func (e Event) ContentHash() []byte {
	h := sha256.New()
	fmt.Fprintf(h, "relator-content-v2\n%d\n", e.OccurredAt.UnixMicro())
	field := func(s string) { fmt.Fprintf(h, "%d:%s\n", len(s), s) }
	field(e.Title)
	field(e.Summary)
	field(e.Content)
	fmt.Fprintf(h, "%d\n", len(e.Actors))
	for _, a := range e.Actors {
		field(a.Name)
	}
	return h.Sum(nil)
}

// ReadFile is ReadFileOptions with the default ReadOptions.
func ReadFile(name string) ([]Event, error) { return ReadFileOptions(name, ReadOptions{}) }

// ReadFileOptions reads every event of the event JSONL file name, in file
// order. For files that fit in memory (evaluation sets); imports stream
// instead.
func ReadFileOptions(name string, opts ReadOptions) ([]Event, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var evs []Event
	r := NewReaderOptions(f, opts)
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			return evs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		evs = append(evs, ev)
	}
}

package events_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/tern/v2/migrate"

	"github.com/relator/relator/events"
	"github.com/relator/relator/internal/pgtest"
	"github.com/relator/relator/migrations"
)

func TestContentHashReadsWhatEmbeddingAndAnalysisRead(t *testing.T) {
	at := time.Date(2026, 4, 5, 9, 30, 0, 0, time.UTC)
	base := events.Event{OccurredAt: at, Title: "T", Summary: "S", Content: "C",
		Actors: []events.Actor{{Name: "Iran", Response: "welcomed"}, {Name: "Pakistan"}}}
	h := string(base.ContentHash())
	same := func(change func(*events.Event)) bool {
		e := base
		e.Actors = append([]events.Actor(nil), base.Actors...)
		change(&e)
		return string(e.ContentHash()) == h
	}
	for what, change := range map[string]func(*events.Event){
		"a response":      func(e *events.Event) { e.Actors[0].Response = "rejected" },
		"a new response":  func(e *events.Event) { e.Actors[1].Response = "silent" },
		"the sources":     func(e *events.Event) { e.Sources = []events.Source{{URL: "http://x"}} },
		"the metadata":    func(e *events.Event) { e.Metadata = map[string]any{"story": "s"} },
		"the time's zone": func(e *events.Event) { e.OccurredAt = at.In(time.FixedZone("PKT", 5*3600)) },
	} {
		if !same(change) {
			t.Errorf("changing %s changed the content hash", what)
		}
	}
	for what, change := range map[string]func(*events.Event){
		"the time":        func(e *events.Event) { e.OccurredAt = at.Add(time.Microsecond) },
		"the title":       func(e *events.Event) { e.Title = "T2" },
		"the summary":     func(e *events.Event) { e.Summary = "S2" },
		"the content":     func(e *events.Event) { e.Content = "C2" },
		"an actor's name": func(e *events.Event) { e.Actors[0].Name = "Iraq" },
		"the actors":      func(e *events.Event) { e.Actors = e.Actors[:1] },
		"field bounds":    func(e *events.Event) { e.Title, e.Summary = "TS", "" },
	} {
		if same(change) {
			t.Errorf("changing %s left the content hash as it was", what)
		}
	}
}

// legacyContentHash is ContentHash before migration 004: JSON with the
// responses.
func legacyContentHash(e events.Event) []byte {
	b, _ := json.Marshal(struct {
		At      time.Time      `json:"at"`
		Title   string         `json:"title"`
		Summary string         `json:"summary"`
		Content string         `json:"content"`
		Actors  []events.Actor `json:"actors"`
	}{e.OccurredAt.UTC(), e.Title, e.Summary, e.Content, e.Actors})
	sum := sha256.Sum256(b)
	return sum[:]
}

// providerMigration is the version of the migration that rehashes events,
// found by its name so that renumbering it changes nothing here.
func providerMigration(t *testing.T) (dir string, version int32) {
	t.Helper()
	dir = filepath.Join("..", "migrations", "sql")
	names, err := filepath.Glob(filepath.Join(dir, "*_provider.sql"))
	if err != nil || len(names) != 1 {
		t.Fatalf("migrations *_provider.sql: %v, %v", names, err)
	}
	n, err := strconv.Atoi(strings.SplitN(filepath.Base(names[0]), "_", 2)[0])
	if err != nil {
		t.Fatal(err)
	}
	return dir, int32(n)
}

// TestRehashMigration: the migration computes, in SQL, exactly the Go
// ContentHash of every stored event, and carries the vectors and analyses
// that were current over to the new hashes, while stale ones stay stale:
// upgrading embeds and analyses nothing again.
func TestRehashMigration(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	_, version := providerMigration(t)
	m, err := migrate.NewMigrator(ctx, conn, migrations.VersionTable)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrations.Load(m); err != nil {
		t.Fatal(err)
	}
	if err := m.MigrateTo(ctx, version-1); err != nil {
		t.Fatal(err)
	}

	jsonl := strings.Join([]string{
		`{"id":"plain","occurred_at":"2015-09-01","summary":"S"}`,
		`{"id":"full","occurred_at":"2026-04-05T09:30:00.123456Z","title":"Talks <open> & \"go\" on","summary":"Line one.\nLine two\twith a tab \\ and a backslash.","content":"Ünïcödé, 中文, emoji 🕊️, Arabic مرحبا, combining é.","actors":[{"name":"Iran","response":"welcomed"},"Pakistan",{"name":"Côte d'Ivoire","response":"silent"}]}`,
		`{"id":"nanos","occurred_at":"2026-04-05T09:30:00.123456789+05:00","title":"Fractions of a microsecond","actors":[]}`,
		`{"id":"old","occurred_at":"1969-07-20T20:17:40.5Z","title":"Before the epoch","summary":""}`,
		`{"id":"stale","occurred_at":"2026-04-06","summary":"Analysed and embedded before a change"}`,
	}, "\n")
	pool, err := pgxpool.New(ctx, url) // not db.Open: that would migrate to the latest version
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := events.Import(ctx, pool, strings.NewReader(jsonl)); err != nil {
		t.Fatal(err)
	}
	stored := map[string]events.Event{}
	for _, id := range []string{"plain", "full", "nanos", "old", "stale"} {
		e, err := events.BySourceID(ctx, pool, id)
		if err != nil {
			t.Fatal(err)
		}
		stored[id] = e
		// As a database before the migration has it: the legacy hash, with
		// a current vector and a finished analysis of it — but for
		// "stale", whose vector and analysis saw other content.
		seen := legacyContentHash(e)
		if id == "stale" {
			seen = []byte("an older content hash")
		}
		if _, err := pool.Exec(ctx, `UPDATE events SET content_hash = $2 WHERE id = $1`, e.ID, legacyContentHash(e)); err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `
			INSERT INTO embeddings (event_id, model, dimensions, embedding, text_hash, event_hash, occurred_at, source_id)
			VALUES ($1, 'test', 3, '[1,2,3]', '\x00', $2, $3, $4)`, e.ID, seen, e.OccurredAt, e.SourceID); err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `
			INSERT INTO event_analyses (event_id, model, prompt_version, status, event_hash, analysed_at)
			VALUES ($1, 'test-chat', 'v1', 'done', $2, now())`, e.ID, seen); err != nil {
			t.Fatal(err)
		}
	}

	if err := m.MigrateTo(ctx, version); err != nil {
		t.Fatal(err)
	}
	for id, e := range stored {
		var hash []byte
		var vectorCurrent, analysisCurrent bool
		if err := pool.QueryRow(ctx, `
			SELECT e.content_hash, v.event_hash = e.content_hash, a.event_hash = e.content_hash
			  FROM events e JOIN embeddings v ON v.event_id = e.id JOIN event_analyses a ON a.event_id = e.id
			 WHERE e.id = $1`, e.ID).Scan(&hash, &vectorCurrent, &analysisCurrent); err != nil {
			t.Fatal(err)
		}
		if string(hash) != string(e.ContentHash()) {
			t.Errorf("%s: the migration's hash %x differs from ContentHash %x", id, hash, e.ContentHash())
		}
		if want := id != "stale"; vectorCurrent != want || analysisCurrent != want {
			t.Errorf("%s: vector current %v, analysis current %v; want %v", id, vectorCurrent, analysisCurrent, want)
		}
	}
	// An import of the same file after the upgrade changes nothing.
	st, err := events.Import(ctx, pool, strings.NewReader(jsonl))
	if err != nil || st.Unchanged != 5 {
		t.Fatalf("re-import after the migration: %+v, %v; want 5 unchanged", st, err)
	}
}

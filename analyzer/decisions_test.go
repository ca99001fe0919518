package analyzer_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/relator/relator/analyzer"
	"github.com/relator/relator/embeddings"
	"github.com/relator/relator/events"
	"github.com/relator/relator/internal/pgtest"
)

const borderStory = `{"id":"a","occurred_at":"2015-09-04","summary":"Hungary begins building a fence on its border with Serbia to stop migrants.","actors":["Hungary","Serbia"]}
{"id":"b","occurred_at":"2015-09-14","summary":"Hungary closes its border with Serbia to migrants and declares a state of emergency.","actors":["Hungary","Serbia"]}
{"id":"c","occurred_at":"2015-09-16","summary":"Hungarian police use tear gas against migrants at the closed Serbian border crossing.","actors":["Hungary","Serbia"]}
`

// versioned is the offline classifier under another prompt version, as a
// new prompt would be.
type versioned struct {
	*analyzer.Offline
	version string
}

func (v versioned) PromptVersion() string { return v.version }

type story struct {
	t    *testing.T
	pool *pgxpool.Pool
	e    embeddings.Embedder
}

func newStory(t *testing.T) story {
	t.Helper()
	s := story{t, pgtest.New(t), embeddings.NewOffline(embeddings.OfflineOptions{Dimensions: 128})}
	s.load(borderStory)
	return s
}

func (s story) load(jsonl string) {
	s.t.Helper()
	ctx := context.Background()
	if _, err := events.Import(ctx, s.pool, strings.NewReader(jsonl)); err != nil {
		s.t.Fatal(err)
	}
	if _, err := embeddings.Embed(ctx, s.pool, s.e, embeddings.StepOptions{}); err != nil {
		s.t.Fatal(err)
	}
}

func (s story) analyse(version string, opts analyzer.Options) analyzer.Stats {
	s.t.Helper()
	opts.EmbeddingModel = s.e.Model()
	st, err := analyzer.Analyze(context.Background(), s.pool, versioned{analyzer.NewOffline(analyzer.OfflineOptions{}), version}, opts)
	if err != nil {
		s.t.Fatal(err)
	}
	return st
}

func (s story) exec(sql string, args ...any) {
	s.t.Helper()
	if _, err := s.pool.Exec(context.Background(), sql, args...); err != nil {
		s.t.Fatal(err)
	}
}

// statuses returns "version:status" of each relation of the pair
// (new event, prior event), in order of writing.
func (s story) statuses(newEvent, prior string) []string {
	s.t.Helper()
	rows, err := s.pool.Query(context.Background(), `
		SELECT r.prompt_version || ':' || r.status FROM relations r
		  JOIN events n ON n.id = r.new_event_id JOIN events p ON p.id = r.prior_event_id
		 WHERE n.source_id = $1 AND p.source_id = $2 ORDER BY r.id`, newEvent, prior)
	if err != nil {
		s.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		rows.Scan(&v)
		out = append(out, v)
	}
	return out
}

func decide(s story, newEvent, prior, status, note string) {
	s.t.Helper()
	s.exec(`UPDATE relations r SET status = $3, review_note = $4
	          FROM events n, events p
	         WHERE n.id = r.new_event_id AND p.id = r.prior_event_id AND n.source_id = $1 AND p.source_id = $2`,
		newEvent, prior, status, note)
}

// TestRerunsRespectDecisions: under a new prompt version, a pair a reviewer
// rejected is not written again (unless ReaskRejected), an approved pair
// gets a new pending suggestion beside its decision, and neither decided row
// changes.
func TestRerunsRespectDecisions(t *testing.T) {
	s := newStory(t)
	if st := s.analyse("v1", analyzer.Options{}); st.Written != 3 {
		t.Fatalf("v1 wrote %d relations; want the story's 3 pairs", st.Written)
	}
	decide(s, "c", "b", "rejected", "the fence is not the crossing")
	decide(s, "b", "a", "approved", "")
	var before string
	s.pool.QueryRow(context.Background(), `SELECT row_to_json(r)::text FROM relations r WHERE status = 'rejected'`).Scan(&before)

	if st := s.analyse("v2", analyzer.Options{}); st.Written != 2 {
		t.Errorf("v2 wrote %d relations; want 2: the rejected pair is not asked again", st.Written)
	}
	if got := s.statuses("c", "b"); strings.Join(got, " ") != "v1:rejected" {
		t.Errorf("rejected pair c→b after v2: %v", got)
	}
	if got := s.statuses("b", "a"); strings.Join(got, " ") != "v1:approved v2:pending" {
		t.Errorf("approved pair b→a after v2: %v; want the decision and a new suggestion beside it", got)
	}
	// The event page lists decided pairs first, a pair's decision before
	// the newer suggestion.
	b, err := events.BySourceID(context.Background(), s.pool, "b")
	if err != nil {
		t.Fatal(err)
	}
	rels, err := analyzer.Of(context.Background(), s.pool, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, r := range rels {
		order = append(order, r.PromptVersion+":"+r.Status)
	}
	if strings.Join(order, " ") != "v1:approved v2:pending v1:rejected" {
		t.Errorf("relations of b in page order: %v; want b→a's approval, its new suggestion, then c→b's rejection", order)
	}
	var after string
	s.pool.QueryRow(context.Background(), `SELECT row_to_json(r)::text FROM relations r WHERE status = 'rejected'`).Scan(&after)
	if after != before {
		t.Errorf("the rejected row changed:\n%s\n%s", before, after)
	}

	if st := s.analyse("v3", analyzer.Options{ReaskRejected: true}); st.Written != 3 {
		t.Errorf("v3 with ReaskRejected wrote %d relations; want 3", st.Written)
	}
	if got := s.statuses("c", "b"); strings.Join(got, " ") != "v1:rejected v3:pending" {
		t.Errorf("rejected pair c→b re-asked under v3: %v", got)
	}
}

// TestChangedEventSupersedesItsPendingRelations: an event whose content
// changed is analysed again; its pending relations of the old content
// become superseded (audited as relator's), the new analysis writes the
// same pairs again as pending, and its decided relations stay. Analysing
// again without a change (a backfill --reanalyze) supersedes nothing.
func TestChangedEventSupersedesItsPendingRelations(t *testing.T) {
	ctx := context.Background()
	s := newStory(t)
	s.analyse("v1", analyzer.Options{})
	decide(s, "c", "a", "approved", "")

	now, _ := analyzer.Now(ctx, s.pool)
	if st := s.analyse("v1", analyzer.Options{ReanalyseBefore: now}); st.Analysed != 3 || st.Written != 0 {
		t.Fatalf("re-analysis of unchanged events: %d analysed, %d written; want 3 and 0", st.Analysed, st.Written)
	}
	var superseded int
	s.pool.QueryRow(ctx, `SELECT count(*) FROM relations WHERE status = 'superseded'`).Scan(&superseded)
	if superseded != 0 {
		t.Fatalf("%d relations superseded by a re-analysis of unchanged content", superseded)
	}

	s.load(strings.Replace(borderStory, "use tear gas against", "fire tear gas and water cannon at", 1))
	if st := s.analyse("v1", analyzer.Options{}); st.Analysed != 1 {
		t.Fatalf("%d events analysed after the change; want c alone", st.Analysed)
	}
	if got := s.statuses("c", "b"); strings.Join(got, " ") != "v1:superseded v1:pending" {
		t.Errorf("c→b after c changed: %v; want the old one superseded and a new pending one", got)
	}
	if got := s.statuses("c", "a"); strings.Join(got, " ") != "v1:approved" {
		t.Errorf("c→a after c changed: %v; want the approved one alone, unchanged", got)
	}
	if got := s.statuses("b", "a"); strings.Join(got, " ") != "v1:pending" {
		t.Errorf("b→a, of an unchanged event: %v", got)
	}
	var by, to string
	s.pool.QueryRow(ctx, `SELECT reviewer, to_status FROM relation_audit ORDER BY id DESC LIMIT 1`).Scan(&by, &to)
	if by != "relator" || to != "superseded" {
		t.Errorf("the last audit entry: %s → %s; want relator's superseding", by, to)
	}
}

package main

import (
	"context"
	"encoding/csv"
	"fmt"
	neturl "net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/relator/relator/analyzer"
	"github.com/relator/relator/embeddings"
	"github.com/relator/relator/internal/db"
	"github.com/relator/relator/internal/pgtest"
)

// firstEvents writes the first n events of the sample to a file of the
// test's own and returns its name.
func firstEvents(t *testing.T, n int) string {
	t.Helper()
	data, err := os.ReadFile(devSet)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	name := filepath.Join(t.TempDir(), "events.jsonl")
	if err := os.WriteFile(name, []byte(strings.Join(lines[:n], "")), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

// idsIn returns the relation ids "#N" of review list output, in order.
func idsIn(out string) []string {
	var ids []string
	for _, m := range regexp.MustCompile(`(?m)^#(\d+) `).FindAllStringSubmatch(out, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

func TestReviewCommands(t *testing.T) {
	url := pgtest.NewDatabase(t)
	mustCLI(t, url, "import", firstEvents(t, 60))
	mustCLI(t, url, "run")
	total := queryInt(t, url, `SELECT count(*) FROM relations`)

	out := mustCLI(t, url, "review", "list", "--limit", "3")
	ids := idsIn(out)
	if len(ids) != 3 || !strings.Contains(out, fmt.Sprintf("review: 3 of %d pending relations listed\n", total)) {
		t.Fatalf("review list:\n%s", out)
	}
	a, b, c := ids[0], ids[1], ids[2]

	if out := mustCLI(t, url, "review", "approve", a, "--by", "ana"); out != "review: 1 relations approved by ana\n" {
		t.Errorf("approve: %q", out)
	}
	if code, _, stderr := cli(t, url, "review", "reject", b, "--by", "ben"); code != 1 || !strings.Contains(stderr, "needs a review_note") ||
		!strings.Contains(stderr, "--note") {
		t.Errorf("reject without a note: exit %d, %s", code, stderr)
	}
	mustCLI(t, url, "review", "reject", b, "--by", "ben", "--note", "another crisis")
	if code, _, stderr := cli(t, url, "review", "approve", a, "--by", "carl"); code != 1 || !strings.Contains(stderr, "already approved (by ana") {
		t.Errorf("approving again: exit %d, %s", code, stderr)
	}
	mustCLI(t, url, "review", "edit", c, "--type", "response", "--rationale", `It is "answered" by the New Event.`, "--by", "ana")
	out = mustCLI(t, url, "review", "show", c)
	for _, want := range []string{"Relation #" + c + " [edited] response", "The New Event: ", "The model's own (",
		`the New Event [`, `"answered"`, "Model answer\n(offline classifier: no model call", "History\n", "ana (as ",
		"pending → edited, type ", "review: relation " + c + " shown: edited, 1 audit entries\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("review show lacks %q:\n%s", want, out)
		}
	}
	out = mustCLI(t, url, "review", "list", "--status", "approved,edited,rejected")
	if got := idsIn(out); len(got) != 3 || !strings.Contains(out, "review: 3 of 3 approved/edited/rejected relations listed") {
		t.Errorf("decided relations: %v\n%s", got, out)
	}

	// Bulk: a dry run counts, --yes --expect decides exactly what it counted.
	typ := "continuation"
	want := queryInt(t, url, `SELECT count(*) FROM relations WHERE status = 'pending' AND type = '`+typ+`'`)
	if want < 2 {
		t.Fatalf("%d pending %s relations to decide in bulk", want, typ)
	}
	out = mustCLI(t, url, "review", "approve", "--type", typ)
	if !strings.Contains(out, fmt.Sprintf("dry run: %d pending relations match; nothing was changed (again with --yes --expect %d", want, want)) {
		t.Fatalf("dry run: %s", out)
	}
	if queryInt(t, url, `SELECT count(*) FROM relations WHERE status <> 'pending'`) != 3 {
		t.Fatal("the dry run changed something")
	}
	if code, _, stderr := cli(t, url, "review", "approve", "--type", typ, "--yes", "--expect", strconv.Itoa(want+1)); code != 1 ||
		!strings.Contains(stderr, "nothing was changed") {
		t.Errorf("bulk with a wrong --expect: exit %d, %s", code, stderr)
	}
	if out := mustCLI(t, url, "review", "approve", "--type", typ, "--yes", "--expect", strconv.Itoa(want), "--by", "dora"); out !=
		fmt.Sprintf("review: %d relations approved by dora\n", want) {
		t.Errorf("bulk approve: %q", out)
	}
	if n := queryInt(t, url, `SELECT count(*) FROM relation_audit WHERE reviewer = 'dora'`); n != want {
		t.Errorf("%d audit entries of the bulk approval; want %d", n, want)
	}

	out = mustCLI(t, url, "review", "stats")
	decided := 3 + want
	for _, wantLine := range []string{"TYPE ", "PROMPT VERSION ", "APPROVAL RATE", analyzer.OfflinePromptVersion + " ",
		fmt.Sprintf("review stats: %d relations, %d decided (%d approved, 1 edited, 1 rejected), %d pending, approval rate %.0f%%",
			total, decided, decided-2, total-decided, 100*float64(decided-1)/float64(decided))} {
		if !strings.Contains(out, wantLine) {
			t.Errorf("review stats lacks %q:\n%s", wantLine, out)
		}
	}
	if out := mustCLI(t, url, "review", "stats", "--json"); !strings.Contains(out, `"by_prompt_version":[{"key":"`+analyzer.OfflinePromptVersion) {
		t.Errorf("review stats --json: %s", out)
	}

	// The reviewed graph: approved and edited relations. The data goes to
	// stdout and the summary line to stderr, or with -o the summary to
	// stdout.
	code, csvOut, stderr := cli(t, url, "export", "--format", "csv")
	if rows, err := csv.NewReader(strings.NewReader(csvOut)).ReadAll(); code != 0 || err != nil || len(rows) != decided {
		t.Errorf("export csv: exit %d, %d rows (%v); want a header and %d relations\n%s", code, len(rows), err, decided-1, stderr)
	}
	if !strings.HasPrefix(stderr, fmt.Sprintf("export: %d approved relations between ", decided-1)) {
		t.Errorf("export summary: %q", stderr)
	}
	file := filepath.Join(t.TempDir(), "graph.graphml")
	if out := mustCLI(t, url, "export", "--status", "approved", "--format", "graphml", "-o", file); !strings.HasSuffix(out, " as graphml to "+file+"\n") {
		t.Errorf("export -o: %q", out)
	}
	if b, _ := os.ReadFile(file); strings.Count(string(b), "<edge ") != decided-1 {
		t.Errorf("graphml has %d edges; want %d", strings.Count(string(b), "<edge "), decided-1)
	}

	// A person granted relator_reviewer runs relator review with a login
	// of their own: the decision is recorded under that role.
	role := "relator_test_cli_reviewer_" + strconv.Itoa(os.Getpid())
	conn, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Exec(context.Background(), `CREATE ROLE `+role+` LOGIN; GRANT relator_reviewer TO `+role); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(context.Background(), `DROP ROLE `+role)
	u, err := neturl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	u.User = neturl.User(role) // the test server trusts 127.0.0.1 (scripts/db.sh)
	asRole := u.String()
	id := strconv.Itoa(queryInt(t, url, `SELECT min(id) FROM relations WHERE status = 'pending'`))
	if out := mustCLI(t, asRole, "review", "approve", id); out != "review: 1 relations approved by "+role+"\n" {
		t.Errorf("approve as a reviewer: %q", out)
	}
	if code, _, stderr := cli(t, asRole, "run"); code != 1 || !strings.Contains(stderr, "permission denied") {
		t.Errorf("run as a reviewer: exit %d, %s", code, stderr)
	}

	for _, args := range [][]string{{"review"}, {"review", "nope"}, {"export", "--format", "xlsx"}, {"review", "approve"}, {"review", "approve", "x1"},
		{"review", "approve", a, "--type", typ}, {"review", "edit", c}, {"review", "show"}} {
		if code, _, _ := cli(t, url, args...); code != 2 {
			t.Errorf("relator %v: exit %d, want 2", args, code)
		}
	}
}

// TestRejectedPairIsNotAskedAgainByABackfill is the acceptance of reruns:
// relations written under an earlier prompt version, one rejected; `relator
// backfill --reanalyze` over its date under the current prompt version
// writes the other pairs again but not the rejected one, whose row stays
// as it was; --reask-rejected asks it again.
func TestRejectedPairIsNotAskedAgainByABackfill(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	mustCLI(t, url, "import", firstEvents(t, 60))
	pool, err := db.Open(ctx, url) // the pool relator uses: pgvector's types registered
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	e := embeddings.NewOffline(embeddings.OfflineOptions{})
	if _, err := embeddings.Embed(ctx, pool, e, embeddings.StepOptions{}); err != nil {
		t.Fatal(err)
	}
	old := olderPrompt{analyzer.NewOffline(analyzer.OfflineOptions{})}
	if _, err := analyzer.Analyze(ctx, pool, old, analyzer.Options{EmbeddingModel: e.Model(), Search: embeddings.SearchOptions{K: 15}}); err != nil {
		t.Fatal(err)
	}
	var id int64
	var day string
	if err := pool.QueryRow(ctx, `SELECT r.id, to_char(n.occurred_at, 'YYYY-MM-DD') FROM relations r JOIN events n ON n.id = r.new_event_id
		ORDER BY r.id LIMIT 1`).Scan(&id, &day); err != nil {
		t.Fatal(err)
	}
	mustCLI(t, url, "review", "reject", strconv.FormatInt(id, 10), "--note", "a different story")
	row := func() string {
		var s string
		pool.QueryRow(ctx, `SELECT row_to_json(r)::text FROM relations r WHERE id = $1`, id).Scan(&s)
		return s
	}
	before := row()
	pair := fmt.Sprintf(`SELECT count(*) FROM relations r, relations x WHERE x.id = %d AND r.id <> x.id
		AND r.new_event_id = x.new_event_id AND r.prior_event_id = x.prior_event_id`, id)
	onDay := fmt.Sprintf(`SELECT count(*) FROM relations r JOIN events n ON n.id = r.new_event_id
		WHERE r.prompt_version = '%s' AND n.occurred_at::date = '%s'`, analyzer.OfflinePromptVersion, day)

	out := mustCLI(t, url, "backfill", "--from", day, "--to", day, "--reanalyze")
	if !strings.Contains(out, "analysed ") || strings.Contains(out, "analysed 0 ") {
		t.Fatalf("backfill: %s", out)
	}
	if n := queryInt(t, url, pair); n != 0 {
		t.Errorf("the rejected pair was written again (%d relations beside it)", n)
	}
	if n := queryInt(t, url, onDay); n == 0 {
		t.Error("the backfill wrote no relation of the day under the new prompt version")
	}
	if after := row(); after != before {
		t.Errorf("the rejected row changed:\n%s\n%s", before, after)
	}
	mustCLI(t, url, "backfill", "--from", day, "--to", day, "--reanalyze", "--reask-rejected")
	if n := queryInt(t, url, pair); n != 1 {
		t.Errorf("with --reask-rejected: %d relations beside the rejected one; want the new suggestion", n)
	}
}

// olderPrompt is the offline classifier under an earlier prompt version.
type olderPrompt struct{ *analyzer.Offline }

func (olderPrompt) PromptVersion() string { return "offline-v0" }

// TestChangedEventSupersedesItsPendingRelations is the acceptance of
// superseding: an event re-imported with other content and run again has
// its old pending relations marked superseded, and its page says so.
func TestChangedEventSupersedesItsPendingRelations(t *testing.T) {
	url := pgtest.NewDatabase(t)
	file := firstEvents(t, 60)
	mustCLI(t, url, "import", file)
	mustCLI(t, url, "run")
	var src string
	conn, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var old int
	if err := conn.QueryRow(context.Background(), `SELECT n.source_id, count(*) FROM relations r JOIN events n ON n.id = r.new_event_id
		GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1`).Scan(&src, &old); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(file)
	changed := regexp.MustCompile(`("id": ?"`+src+`",.*?"summary": ?")`).ReplaceAllString(string(data), "${1}Update: ")
	if changed == string(data) {
		t.Fatalf("could not change event %s", src)
	}
	os.WriteFile(file, []byte(changed), 0o644)
	if out := mustCLI(t, url, "import", file); !strings.Contains(out, "1 updated") {
		t.Fatalf("re-import: %s", out)
	}
	mustCLI(t, url, "run")
	if n := queryInt(t, url, `SELECT count(*) FROM relations r JOIN events n ON n.id = r.new_event_id
		WHERE n.source_id = '`+src+`' AND r.status = 'superseded'`); n != old {
		t.Errorf("%d of %s's %d old relations superseded", n, src, old)
	}
	if n := queryInt(t, url, `SELECT count(*) FROM relations WHERE status = 'superseded'`); n != old {
		t.Errorf("%d relations superseded in all; want %s's %d alone", n, src, old)
	}
	out := mustCLI(t, url, "show", src)
	if !strings.Contains(out, fmt.Sprintf(", %d superseded not shown\n", old)) {
		t.Errorf("show %s:\n%s", src, out)
	}
}

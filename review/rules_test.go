package review_test

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/relator/relator/analyzer"
	"github.com/relator/relator/internal/pgtest"
)

// execAs runs sql in a transaction of its own on pool, after SET LOCAL of
// each setting ("relator.reviewer=ana"), and returns the rows it affected.
func execAs(ctx context.Context, pool *pgxpool.Pool, sql string, settings ...string) (int64, error) {
	var n int64
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		for _, s := range settings {
			name, value, _ := strings.Cut(s, "=")
			if _, err := tx.Exec(ctx, `SELECT set_config($1, $2, true)`, name, value); err != nil {
				return err
			}
		}
		tag, err := tx.Exec(ctx, sql)
		n = tag.RowsAffected()
		return err
	})
	return n, err
}

// refused fails the test unless err is a refusal with SQLSTATE code whose
// message contains want.
func refused(t *testing.T, what string, err error, code, want string) {
	t.Helper()
	var pg *pgconn.PgError
	if !errors.As(err, &pg) || pg.Code != code || !strings.Contains(pg.Message, want) {
		t.Errorf("%s: %v; want SQLSTATE %s, %q", what, err, code, want)
	}
}

// TestTransitionsAreEnforcedForEveryClient runs, as the table's owner (the
// triggers hold for every role), the changes review allows and those it
// refuses.
func TestTransitionsAreEnforcedForEveryClient(t *testing.T) {
	ctx := context.Background()
	pool, _ := analysed(t, story)
	items := pending(t, pool)
	a, b, c := items[0].ID, items[1].ID, items[2].ID
	exec := func(sql string, args ...string) error {
		t.Helper()
		_, err := execAs(ctx, pool, strings.NewReplacer("$a", itoa(a), "$b", itoa(b), "$c", itoa(c)).Replace(sql), args...)
		return err
	}

	refused(t, "a rationale changed while pending", exec(`UPDATE relations SET rationale = 'mine' WHERE id = $a`), "RV002", "only with a decision")
	refused(t, "a note without a decision", exec(`UPDATE relations SET review_note = 'hm' WHERE id = $a`), "RV002", "only with a decision")
	refused(t, "approving with a new rationale", exec(`UPDATE relations SET status = 'approved', rationale = 'mine' WHERE id = $a`), "RV002", "is an edit")
	refused(t, "an edit that changes nothing", exec(`UPDATE relations SET status = 'edited' WHERE id = $a`), "RV002", "an edit changes")
	refused(t, "a new confidence", exec(`UPDATE relations SET confidence = 0.1 WHERE id = $a`), "RV002", "never change")
	refused(t, "a new model", exec(`UPDATE relations SET status = 'approved', model = 'gpt-5' WHERE id = $a`), "RV002", "never change")
	refused(t, "another prior event", exec(`UPDATE relations SET prior_event_id = new_event_id - 0 WHERE id = $a`), "RV002", "never change")
	refused(t, "reviewed_by written by the client", exec(`UPDATE relations SET status = 'approved', reviewed_by = 'someone' WHERE id = $a`), "RV002", "set by the database")
	refused(t, "superseding as a reviewer", exec(`UPDATE relations SET status = 'superseded' WHERE id = $a`), "RV002", "set by relator only")
	refused(t, "a rejection without a note", exec(`UPDATE relations SET status = 'rejected' WHERE id = $a`), "RV003", "needs a review_note")
	refused(t, "a blank note", exec(`UPDATE relations SET status = 'rejected', review_note = '  ' WHERE id = $a`), "RV003", "needs a review_note")
	refused(t, "an unknown type", exec(`UPDATE relations SET status = 'edited', type = 'kinship' WHERE id = $a`), "23514", "relations_type_in_taxonomy")
	refused(t, "an insert of a decided relation", exec(`INSERT INTO relations (new_event_id, prior_event_id, type, confidence, rationale,
		candidate_number, model, prompt_version, status) SELECT new_event_id, prior_event_id, type, confidence, rationale, candidate_number,
		model, 'v9', 'approved' FROM relations WHERE id = $a`), "RV002", "inserted as pending")

	// Allowed: approving names the reviewer from relator.reviewer, or the role.
	if err := exec(`UPDATE relations SET status = 'approved' WHERE id = $a`, "relator.reviewer=ana"); err != nil {
		t.Fatal(err)
	}
	if err := exec(`UPDATE relations SET status = 'edited', type = 'response', rationale = 'Event 1 is answered by the New Event.' WHERE id = $b`); err != nil {
		t.Fatal(err)
	}
	var by, typ, modelType, why, modelWhy, role string
	pool.QueryRow(ctx, `SELECT reviewed_by, current_user FROM relations WHERE id = $1`, a).Scan(&by, &role)
	if by != "ana" {
		t.Errorf("reviewed_by %q; want ana, from relator.reviewer", by)
	}
	pool.QueryRow(ctx, `SELECT reviewed_by, type, model_type, rationale, model_rationale FROM relations WHERE id = $1`, b).
		Scan(&by, &typ, &modelType, &why, &modelWhy)
	if by != role || typ != "response" || modelType != items[1].Type || why == modelWhy || modelWhy != items[1].Rationale {
		t.Errorf("edited: by %q (role %q), type %q, model's %q, rationale %q, model's %q", by, role, typ, modelType, why, modelWhy)
	}

	// Decided is final, for the same status too: no second decision.
	refused(t, "back to pending", exec(`UPDATE relations SET status = 'pending' WHERE id = $a`), "RV001", "already approved (by ana")
	refused(t, "approving again", exec(`UPDATE relations SET status = 'approved' WHERE id = $a`), "RV001", "a decision is final")
	refused(t, "a rationale changed after approval", exec(`UPDATE relations SET rationale = 'late' WHERE id = $a`), "RV001", "a decision is final")
	refused(t, "re-editing", exec(`UPDATE relations SET status = 'edited', type = 'causes' WHERE id = $b`), "RV001", "already edited")

	// The job supersedes, and only the job.
	if err := exec(`UPDATE relations SET status = 'superseded' WHERE id = $c`, "relator.job=on"); err != nil {
		t.Fatal(err)
	}
	refused(t, "deciding a superseded relation", exec(`UPDATE relations SET status = 'approved' WHERE id = $c`), "RV001", "is superseded")

	// Turned off, a rejection needs no note.
	var other int64
	pool.QueryRow(ctx, `INSERT INTO relations (new_event_id, prior_event_id, type, confidence, rationale, candidate_number, model, prompt_version)
		SELECT new_event_id, prior_event_id, type, confidence, rationale, candidate_number, model, 'v2' FROM relations WHERE id = $1
		RETURNING id`, a).Scan(&other)
	if err := exec(`UPDATE review_policy SET reject_needs_note = false`); err != nil {
		t.Fatal(err)
	}
	if err := exec(`UPDATE relations SET status = 'rejected' WHERE id = ` + itoa(other)); err != nil {
		t.Fatalf("a rejection without a note, with reject_needs_note off: %v", err)
	}
	// Clearing run_id (ON DELETE SET NULL of runs) passes and is no change
	// of review.
	if err := exec(`DELETE FROM runs`); err != nil {
		t.Fatalf("deleting runs: %v", err)
	}
	var audited int
	pool.QueryRow(ctx, `SELECT count(*) FROM relation_audit`).Scan(&audited)
	if audited != 4 {
		t.Errorf("%d audit entries; want 4: approved, edited, superseded, rejected", audited)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestTypeCheckIsTheTaxonomy keeps the CHECK that holds reviewers' edits to
// the taxonomy in step with analyzer.Taxonomy.
func TestTypeCheckIsTheTaxonomy(t *testing.T) {
	pool := pgtest.New(t)
	var def string
	if err := pool.QueryRow(context.Background(), `SELECT pg_get_constraintdef(oid) FROM pg_constraint
		WHERE conname = 'relations_type_in_taxonomy'`).Scan(&def); err != nil {
		t.Fatal(err)
	}
	var checked []string
	for _, m := range regexp.MustCompile(`'([a-z_]+)'`).FindAllStringSubmatch(def, -1) {
		checked = append(checked, m[1])
	}
	var types []string
	for _, info := range analyzer.Taxonomy() {
		types = append(types, string(info.Type))
	}
	slices.Sort(checked)
	slices.Sort(types)
	if !slices.Equal(checked, types) {
		t.Errorf("relations_type_in_taxonomy allows %v; the taxonomy is %v", checked, types)
	}
}

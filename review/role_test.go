package review_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// asReviewer connects to pool's database as a new LOGIN role that is a
// member of relator_reviewer, as a person granted the role does. The role
// is dropped when the test ends. The test server trusts connections from
// 127.0.0.1 (scripts/db.sh), so no password is needed.
func asReviewer(t *testing.T, pool *pgxpool.Pool) (*pgxpool.Pool, string) {
	t.Helper()
	ctx := context.Background()
	b := make([]byte, 4)
	rand.Read(b)
	name := "relator_test_reviewer_" + hex.EncodeToString(b)
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := pool.Exec(ctx, `CREATE ROLE `+ident+` LOGIN; GRANT relator_reviewer TO `+ident); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := pool.Exec(context.Background(), `DROP ROLE `+ident); err != nil {
			t.Errorf("drop role %s: %v", name, err)
		}
	})
	u, err := url.Parse(pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(name)
	rp, err := pgxpool.New(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rp.Close) // before DROP ROLE: cleanups run last first
	var who string
	if err := rp.QueryRow(ctx, `SELECT current_user`).Scan(&who); err != nil || who != name {
		t.Fatalf("connected as %q (%v); want %s", who, err, name)
	}
	return rp, name
}

// TestReviewerRole is the acceptance of the relator_reviewer role, from a
// login role that is a member of it: it reads events, relations, the audit
// trail and the views; approving a pending relation works and is audited;
// going back to pending, inserting, deleting, changing a rationale outside
// edited, changing the model's fields or an event, and touching the audit
// trail all fail with a clear message.
func TestReviewerRole(t *testing.T) {
	ctx := context.Background()
	owner, _ := analysed(t, story)
	items := pending(t, owner)
	rp, name := asReviewer(t, owner)
	id := itoa(items[0].ID)

	var n int
	for _, table := range []string{"events", "relations", "relation_audit", "review_queue", "approved_relations", "review_policy"} {
		if err := rp.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil {
			t.Errorf("a reviewer reads %s: %v", table, err)
		}
	}
	if _, err := execAs(ctx, rp, `UPDATE relations SET status = 'approved', review_note = 'same border' WHERE id = `+id); err != nil {
		t.Fatalf("a reviewer approves: %v", err)
	}
	var by, dbUser, from, to, note string
	err := rp.QueryRow(ctx, `SELECT reviewer, db_user, from_status, to_status, note FROM relation_audit WHERE relation_id = $1`,
		items[0].ID).Scan(&by, &dbUser, &from, &to, &note)
	if err != nil || by != name || dbUser != name || from != "pending" || to != "approved" || note != "same border" {
		t.Fatalf("audit of the approval: %q %q %q→%q %q (%v)", by, dbUser, from, to, note, err)
	}
	if _, err := execAs(ctx, rp, `UPDATE relations SET status = 'rejected', review_note = 'no' WHERE id = `+itoa(items[1].ID),
		"relator.reviewer=ana"); err != nil {
		t.Fatalf("a reviewer rejects: %v", err)
	}
	rp.QueryRow(ctx, `SELECT reviewer, db_user FROM relation_audit WHERE relation_id = $1`, items[1].ID).Scan(&by, &dbUser)
	if by != "ana" || dbUser != name {
		t.Errorf("audit names reviewer %q, login %q; want ana and %s", by, dbUser, name)
	}

	other := itoa(items[2].ID)
	for _, c := range []struct{ what, sql, code, want string }{
		{"back to pending", `UPDATE relations SET status = 'pending' WHERE id = ` + id, "RV001", "a decision is final"},
		{"a rationale outside edited", `UPDATE relations SET rationale = 'mine' WHERE id = ` + other, "RV002", "only with a decision"},
		{"superseding", `UPDATE relations SET status = 'superseded' WHERE id = ` + other, "RV002", "set by relator only"},
		{"an insert", `INSERT INTO relations (new_event_id, prior_event_id, type, confidence, rationale, candidate_number, model, prompt_version)
			VALUES (1, 2, 'causes', 0.5, 'x', 1, 'm', 'v')`, "42501", "permission denied for table relations"},
		{"a delete", `DELETE FROM relations WHERE id = ` + other, "42501", "permission denied for table relations"},
		{"a new confidence", `UPDATE relations SET confidence = 1 WHERE id = ` + other, "42501", "permission denied for table relations"},
		{"a new model", `UPDATE relations SET model = 'mine' WHERE id = ` + other, "42501", "permission denied"},
		{"a candidate number", `UPDATE relations SET candidate_number = 2 WHERE id = ` + other, "42501", "permission denied"},
		{"reviewed_by", `UPDATE relations SET reviewed_by = 'ana' WHERE id = ` + other, "42501", "permission denied"},
		{"an event", `UPDATE events SET title = 'mine'`, "42501", "permission denied for table events"},
		{"an audit entry", `UPDATE relation_audit SET note = 'mine'`, "42501", "permission denied for table relation_audit"},
		{"a forged audit entry", `INSERT INTO relation_audit (relation_id, reviewer, db_user, from_status, to_status) VALUES (1, 'x', 'x', 'pending', 'approved')`,
			"42501", "permission denied for table relation_audit"},
		{"the policy", `UPDATE review_policy SET reject_needs_note = false`, "42501", "permission denied for table review_policy"},
	} {
		_, err := execAs(ctx, rp, c.sql)
		refused(t, "a reviewer's "+c.what, err, c.code, c.want)
	}
	var audited int
	owner.QueryRow(ctx, `SELECT count(*) FROM relation_audit`).Scan(&audited)
	if audited != 2 {
		t.Errorf("%d audit entries; want the 2 decisions", audited)
	}
}

// TestAuditIsAppendOnly: nobody, the owner included, updates, deletes or
// truncates audit entries, or truncates relations (which would go
// unaudited); deleting a relation (with its event) is itself audited.
func TestAuditIsAppendOnly(t *testing.T) {
	ctx := context.Background()
	pool, _ := analysed(t, story)
	items := pending(t, pool)
	if _, err := execAs(ctx, pool, `UPDATE relations SET status = 'approved' WHERE id = `+itoa(items[0].ID)); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{`UPDATE relation_audit SET note = 'x'`, `DELETE FROM relation_audit`, `TRUNCATE relation_audit`} {
		_, err := execAs(ctx, pool, sql)
		refused(t, sql, err, "RV002", "append-only")
	}
	_, err := execAs(ctx, pool, `TRUNCATE relations CASCADE`)
	refused(t, "TRUNCATE relations", err, "RV002", "bypass the audit trail")
	if _, err := execAs(ctx, pool, `DELETE FROM events WHERE source_id = 'a'`); err != nil {
		t.Fatal(err)
	}
	var deleted, left int
	pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE to_status = 'deleted'), count(*) FILTER (WHERE to_status = 'approved')
		FROM relation_audit`).Scan(&deleted, &left)
	if deleted != 2 || left != 1 {
		t.Errorf("after deleting event a: %d deletions, %d approvals audited; want 2 and 1", deleted, left)
	}
}

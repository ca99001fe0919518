// Package review is the reviewer's side of relations: listing what awaits a
// decision, recording decisions, each relation's audit history, the figures
// of review and the export of the reviewed graph.
//
// The rules of review live in the database (migrations/sql/004_review.sql):
// triggers enforce a relation's transitions and append every change to
// relation_audit, whichever client makes it. This package says who decides
// (SET LOCAL relator.reviewer) and turns the database's refusals into
// errors a reviewer can act on.
package review

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Statuses of a relation. Reviewers move a pending relation to Approved,
// Rejected or Edited (approved with the reviewer's type and/or rationale);
// relator's job moves it to Superseded when its event changed and was
// analysed again. Every status but Pending is final.
const (
	Pending    = "pending"
	Approved   = "approved"
	Rejected   = "rejected"
	Edited     = "edited"
	Superseded = "superseded"
)

// Statuses lists every status, in the order of a relation's life.
func Statuses() []string { return []string{Pending, Approved, Edited, Rejected, Superseded} }

// Decided reports whether status is a reviewer's decision.
func Decided(status string) bool { return status == Approved || status == Edited || status == Rejected }

func validStatus(s string) error {
	if !slices.Contains(Statuses(), s) {
		return fmt.Errorf("unknown status %q: want %s", s, strings.Join(Statuses(), ", "))
	}
	return nil
}

// EventRef names an event as a reviewer needs to see it.
type EventRef struct {
	ID         int64 // database id
	SourceID   string
	OccurredAt time.Time
	Headline   string
}

// Item is one relation as a reviewer sees it.
type Item struct {
	ID         int64
	Status     string
	Type       string // the reviewer's where edited, else the model's
	Confidence float64
	Rationale  string // the reviewer's where edited, else the model's
	Number     int    // the prior event's "Event N" in the rationale
	New, Prior EventRef
	Model      string
	// PromptVersion is the version of the prompt the model was asked with.
	PromptVersion string
	CreatedAt     time.Time
	ReviewedBy    string
	ReviewedAt    *time.Time
	Note          string
	// ModelType and ModelRationale are the model's own, kept when a
	// reviewer edited them; "" otherwise.
	ModelType      string
	ModelRationale string
}

// Errors of decisions. The database's refusals are *RuleError values that
// match one of the first three with errors.Is.
var (
	// ErrDecided: the relation was decided (or superseded) already, maybe
	// by another reviewer a moment ago. Decisions are final.
	ErrDecided = errors.New("decided already")
	// ErrNotAllowed: a change review does not allow.
	ErrNotAllowed = errors.New("not allowed by review")
	// ErrNoteNeeded: a rejection without a note.
	ErrNoteNeeded = errors.New("note needed")
	// ErrNotFound: no relation has the id.
	ErrNotFound = errors.New("no such relation")
	// ErrChanged: a bulk decision selected another number of relations
	// than expected (reviewers decided some meanwhile); nothing was changed.
	ErrChanged = errors.New("selection changed")
)

// A RuleError is a change the database's review rules refused, with the
// database's message and hint.
type RuleError struct {
	Code    string // SQLSTATE: RV001 decided already, RV002 not allowed, RV003 note needed
	Message string
	Hint    string
}

func (e *RuleError) Error() string {
	if e.Hint == "" {
		return e.Message
	}
	return e.Message + " (" + e.Hint + ")"
}

// Unwrap returns the sentinel of the code.
func (e *RuleError) Unwrap() error {
	switch e.Code {
	case "RV001":
		return ErrDecided
	case "RV003":
		return ErrNoteNeeded
	}
	return ErrNotAllowed
}

// ruleError returns err as a *RuleError when it is a refusal of the review
// triggers (SQLSTATE class RV), and err otherwise.
func ruleError(err error) error {
	var pg *pgconn.PgError
	if errors.As(err, &pg) && strings.HasPrefix(pg.Code, "RV") {
		return &RuleError{Code: pg.Code, Message: pg.Message, Hint: pg.Hint}
	}
	return err
}

package analyzer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/relator/relator/events"
)

// AnalysisRecord is one event's analysis under one model and prompt
// version, as event_analyses has it.
type AnalysisRecord struct {
	EventID       int64
	EventHash     []byte // the content analysed (or being analysed)
	Model         string
	PromptVersion string
	Status        string
	AnalysedAt    *time.Time // when it last finished
	Calls         int        // model calls it made
	Reused        int        // model calls it did not make: answers reused from the call log
}

// Offline reports whether the analysis was the offline classifier's, which
// makes no model calls.
func (a AnalysisRecord) Offline() bool { return strings.HasPrefix(a.Model, "offline-") }

// LatestAnalysis returns the most recently updated analysis of event
// eventID, and false when it was never analysed.
func LatestAnalysis(ctx context.Context, q events.Querier, eventID int64) (AnalysisRecord, bool, error) {
	a := AnalysisRecord{EventID: eventID}
	err := q.QueryRow(ctx, `
		SELECT event_hash, model, prompt_version, status, analysed_at, llm_calls, reused_calls
		  FROM event_analyses
		 WHERE event_id = $1
		 ORDER BY updated_at DESC, model, prompt_version
		 LIMIT 1`, eventID).Scan(&a.EventHash, &a.Model, &a.PromptVersion, &a.Status, &a.AnalysedAt, &a.Calls, &a.Reused)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, false, nil
	}
	if err != nil {
		return a, false, fmt.Errorf("latest analysis of event %d: %w", eventID, err)
	}
	return a, true, nil
}

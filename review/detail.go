package review

import (
	"context"
	"fmt"
	"strings"

	"github.com/relator/relator/events"
	"github.com/relator/relator/internal/calllog"
)

// Detail is everything a reviewer reads to decide one relation.
type Detail struct {
	Item
	New, Prior events.Event
	Answer     ModelAnswer
	History    []Entry
}

// ModelAnswer is the model's raw answer for the relation's analysis, where
// one is recorded.
type ModelAnswer struct {
	Recorded bool
	Text     string
	// Why tells why none is recorded.
	Why string
}

// Show returns relation id with both its events, the model's raw answer
// where recorded, and its audit history.
func Show(ctx context.Context, q events.Querier, id int64) (Detail, error) {
	it, err := Get(ctx, q, id)
	if err != nil {
		return Detail{}, err
	}
	evs, err := events.ByIDs(ctx, q, []int64{it.New.ID, it.Prior.ID})
	if err != nil {
		return Detail{}, err
	}
	d := Detail{Item: it, New: evs[it.New.ID], Prior: evs[it.Prior.ID]}
	if d.Answer, err = modelAnswer(ctx, q, it); err != nil {
		return Detail{}, err
	}
	if d.History, err = History(ctx, q, id); err != nil {
		return Detail{}, err
	}
	return d, nil
}

// modelAnswer looks up the raw model answer of the analysis that wrote the
// relation: the call log's calls of its event, content, model and prompt
// version up to the relation's creation, from the last first call on (the
// answer used, and its repair call if one was made).
func modelAnswer(ctx context.Context, q events.Querier, it Item) (ModelAnswer, error) {
	if strings.HasPrefix(it.Model, "offline-") {
		return ModelAnswer{Why: "offline classifier: no model call; its rationale is its whole answer"}, nil
	}
	var hash []byte
	if err := q.QueryRow(ctx, `SELECT event_hash FROM relations WHERE id = $1`, it.ID).Scan(&hash); err != nil {
		return ModelAnswer{}, fmt.Errorf("relation %d: %w", it.ID, err)
	}
	calls, err := calllog.Of(ctx, q, calllog.Analysis{EventID: it.New.ID, EventHash: hash, Model: it.Model,
		PromptVersion: it.PromptVersion}, it.CreatedAt)
	if err != nil {
		return ModelAnswer{}, err
	}
	if len(calls) == 0 {
		return ModelAnswer{Why: "no raw model answer is recorded: the relation was written before relator kept a call log, or the log was pruned"}, nil
	}
	return ModelAnswer{Recorded: true, Text: strings.TrimRight(calllog.Render(calllog.Latest(calls)), "\n")}, nil
}

package review

import (
	"context"
	"strings"

	"github.com/relator/relator/events"
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

// modelAnswer looks up the raw model answer of the analysis that wrote it.
// relator keeps no log of model calls yet; when it does, the lookup goes
// here — by it.New.ID, it.Model and it.PromptVersion.
func modelAnswer(_ context.Context, _ events.Querier, it Item) (ModelAnswer, error) {
	if strings.HasPrefix(it.Model, "offline-") {
		return ModelAnswer{Why: "the offline classifier makes no model call; its rationale is its whole answer"}, nil
	}
	return ModelAnswer{Why: "no raw model answer is recorded: relator keeps no log of model calls yet"}, nil
}

package review

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/relator/relator/analyzer"
	"github.com/relator/relator/events"
)

// Counts are the figures of review of a set of relations.
type Counts struct {
	Relations  int `json:"relations"`
	Pending    int `json:"pending"`
	Approved   int `json:"approved"`
	Edited     int `json:"edited"`
	Rejected   int `json:"rejected"`
	Superseded int `json:"superseded"`
	// MeanConfidence is the model's mean confidence.
	MeanConfidence float64 `json:"mean_confidence"`
	// ApprovalRate is the share of decided relations that stand, approved
	// or edited: (approved + edited) / decided; nil when none is decided.
	ApprovalRate *float64 `json:"approval_rate"`
	// EditRate is the share of decided relations a reviewer corrected;
	// nil when none is decided.
	EditRate *float64 `json:"edit_rate"`
	// MedianReview is the median time from a relation's writing to its
	// decision, over the decided relations; 0 when none is decided.
	MedianReview        time.Duration `json:"-"`
	MedianReviewSeconds float64       `json:"median_review_seconds"`
}

// Decided is how many relations reviewers decided.
func (c Counts) Decided() int { return c.Approved + c.Edited + c.Rejected }

func (c *Counts) rates() {
	if d := c.Decided(); d > 0 {
		approval, edit := float64(c.Approved+c.Edited)/float64(d), float64(c.Edited)/float64(d)
		c.ApprovalRate, c.EditRate = &approval, &edit
	}
}

// Group is the counts of one type, prompt version or model.
type Group struct {
	Key string `json:"key"`
	Counts
}

// Report is the figures a team compares prompt versions and models by.
type Report struct {
	All Counts `json:"all"`
	// ByType groups by the model's type (before any edit), in taxonomy
	// order; ByPromptVersion and ByModel by the most relations first.
	ByType          []Group `json:"by_type"`
	ByPromptVersion []Group `json:"by_prompt_version"`
	ByModel         []Group `json:"by_model"`
}

// Stats counts every relation by status, over all and by type, prompt
// version and model, with the median time to review, in one query.
func Stats(ctx context.Context, q events.Querier) (Report, error) {
	rows, err := q.Query(ctx, `
		SELECT grouping(coalesce(model_type, type)) = 0, grouping(prompt_version) = 0, grouping(model) = 0,
		       coalesce(coalesce(model_type, type), prompt_version, model, ''),
		       count(*),
		       count(*) FILTER (WHERE status = 'pending'),
		       count(*) FILTER (WHERE status = 'approved'),
		       count(*) FILTER (WHERE status = 'edited'),
		       count(*) FILTER (WHERE status = 'rejected'),
		       count(*) FILTER (WHERE status = 'superseded'),
		       coalesce(avg(confidence), 0),
		       coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM reviewed_at - created_at))
		                FILTER (WHERE status IN ('approved', 'edited', 'rejected')), 0)
		  FROM relations
		 GROUP BY GROUPING SETS ((), (coalesce(model_type, type)), (prompt_version), (model))
		 ORDER BY count(*) DESC, 4`)
	if err != nil {
		return Report{}, fmt.Errorf("review stats: %w", err)
	}
	type row struct {
		isType, isPrompt, isModel bool
		g                         Group
		seconds                   float64
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		c := &x.g.Counts
		err := r.Scan(&x.isType, &x.isPrompt, &x.isModel, &x.g.Key, &c.Relations, &c.Pending, &c.Approved, &c.Edited,
			&c.Rejected, &c.Superseded, &c.MeanConfidence, &x.seconds)
		c.MedianReviewSeconds = math.Round(x.seconds*1000) / 1000
		c.MedianReview = time.Duration(c.MedianReviewSeconds * float64(time.Second))
		c.rates()
		return x, err
	})
	if err != nil {
		return Report{}, fmt.Errorf("review stats: %w", err)
	}
	var rep Report
	for _, x := range list {
		switch {
		case x.isType:
			rep.ByType = append(rep.ByType, x.g)
		case x.isPrompt:
			rep.ByPromptVersion = append(rep.ByPromptVersion, x.g)
		case x.isModel:
			rep.ByModel = append(rep.ByModel, x.g)
		default:
			rep.All = x.g.Counts
		}
	}
	slices.SortStableFunc(rep.ByType, func(a, b Group) int { return typeOrder(a.Key) - typeOrder(b.Key) })
	return rep, nil
}

func typeOrder(t string) int {
	return slices.IndexFunc(analyzer.Taxonomy(), func(i analyzer.TypeInfo) bool { return string(i.Type) == t })
}

// Package analyzer decides which retrieved prior events are related to a new
// event, how, how surely and why, and writes those relations for review.
package analyzer

import (
	"context"

	"github.com/relator/relator/events"
)

// Candidate is one retrieved prior event as shown to a classifier, numbered
// from 1 in the order of retrieval ("Event 1" … "Event K").
type Candidate struct {
	Number     int
	Event      events.Event
	Similarity float64 // cosine similarity to the new event, in [-1, 1]
}

// Relation is one related candidate as a classifier judged it.
type Relation struct {
	Number     int // the candidate's number in the prompt
	Type       RelationType
	Confidence float64 // in [0, 1]
	Rationale  string  // exactly as written
}

// Result is what a classifier decided for one new event.
type Result struct {
	Relations []Relation
	// Invalid counts returned items that failed validation even after the
	// retry and were dropped.
	Invalid int
	// Calls counts model calls made (0 for the offline classifier).
	Calls int
	// Reused counts model calls not made because the call log had the
	// answer to the same request, stored by an attempt that did not finish.
	Reused    int
	TokensIn  int
	TokensOut int
}

// Classifier judges one new event against its numbered candidates.
type Classifier interface {
	// Model is stored with every relation the classifier writes; the offline
	// classifier's starts with "offline-".
	Model() string
	// PromptVersion is stored with every relation; a new version means every
	// event is analysed again.
	PromptVersion() string
	Classify(ctx context.Context, newEvent events.Event, candidates []Candidate) (Result, error)
}

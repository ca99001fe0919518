// Package events reads event JSONL and owns the events table.
//
// It is a package of its own, beside the card's embeddings and analyzer,
// because events are the data both of those read: parsing the contract
// format of DESIGN.md and upserting it is neither embedding nor analysis.
package events

import "time"

// Event is one news or geopolitical event as stored.
type Event struct {
	ID         int64     // database id
	SourceID   string    // the event's id in the source system (the JSONL "id")
	OccurredAt time.Time // UTC
	Title      string    // "" when absent
	Summary    string    // "" when absent
	Content    string    // "" when absent
	Sources    []Source
	Actors     []Actor
	// Metadata holds the JSONL fields relator does not know, as raw JSON.
	Metadata map[string]any
}

// Source is one source of an event.
type Source struct {
	URL   string `json:"url"`
	Title string `json:"title,omitempty"`
}

// Actor is one actor of an event and, where known, its response (the seed's
// "Actor Responses").
type Actor struct {
	Name     string `json:"name"`
	Response string `json:"response,omitempty"`
}

// Headline is the event's title, or its summary when it has no title.
func (e Event) Headline() string {
	if e.Title != "" {
		return e.Title
	}
	return e.Summary
}

// ActorNames lists the names of the event's actors.
func (e Event) ActorNames() []string {
	names := make([]string, len(e.Actors))
	for i, a := range e.Actors {
		names[i] = a.Name
	}
	return names
}

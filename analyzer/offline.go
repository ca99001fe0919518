package analyzer

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/relator/relator/events"
)

// OfflineModel is the offline classifier's Model(). Bump its version
// whenever a rule changes which candidates are related or how.
const OfflineModel = "offline-rules-v1"

// OfflinePromptVersion is the offline classifier's PromptVersion(): it names
// the version of the rationale templates (offline_rationale.go). Bump it when
// they change; a new version means every event is analysed again.
const OfflinePromptVersion = "offline-v1"

// DefaultOfflineThreshold is the default OfflineOptions.Threshold.
const DefaultOfflineThreshold = 1.9

// similarityWeight scales the cosine in the relatedness score: a cosine of
// 0.2 weighs as much as one shared name.
const similarityWeight = 5.0

// maxSharedNames caps the shared names that count in the score, so that a
// long list of common actors cannot outweigh everything else.
const maxSharedNames = 3

// OfflineOptions configures NewOffline.
type OfflineOptions struct {
	// Threshold is the least relatedness score for which a candidate is
	// judged related. The score is 5 × the retrieval cosine plus the number
	// of names (actors and named entities) both events mention, at most 3:
	// with the default 1.9, a candidate sharing no name needs a cosine of
	// 0.38, one sharing a name 0.18, and two shared names suffice. Default
	// DefaultOfflineThreshold, chosen on the dev set for the offline
	// embedder's cosines, where F1 is flat from 1.7 to 2.0 and 1.9 favours
	// precision; with an embedder whose cosines run higher, raise it.
	Threshold float64
	// Profiles is how many events' profiles (their names, terms, words
	// and cues, read from their text) are remembered: a prior event is a
	// candidate of many later ones, and reading its text again for each is
	// most of what classifying costs. Default DefaultOfflineProfiles.
	Profiles int
}

// DefaultOfflineProfiles is the default OfflineOptions.Profiles: a few
// thousand covers the candidates a pass in time order keeps meeting, at a
// few kilobytes each.
const DefaultOfflineProfiles = 4096

// Offline is a Classifier that needs no model: it judges each candidate by
// rules over the retrieval similarity and the names both events mention,
// picks the relation type from cue words, the time gap and the overlap of
// the two texts, and writes the rationale from templates that quote both
// events. It is deterministic, makes no calls and is safe for concurrent
// use.
//
// The decision uses only the similarity and the shared names because, on
// the dev set, the time gap, the candidate's rank, the overlap of content
// words and the similarity relative to the best candidate added nothing
// measurable to them (see offline_variants_test.go); they inform the type
// and the rationale instead.
type Offline struct {
	threshold float64
	// profiles are the profiles of recently read events, by the digest of
	// what a profile reads (profileKey). A profile is never modified once
	// made, so one is shared by every goroutine that reads it.
	profiles *lru.Cache[[sha256.Size]byte, *profile]
}

var _ Classifier = (*Offline)(nil)

// NewOffline returns the offline classifier.
func NewOffline(opts OfflineOptions) *Offline {
	t := opts.Threshold
	if t <= 0 {
		t = DefaultOfflineThreshold
	}
	n := opts.Profiles
	if n <= 0 {
		n = DefaultOfflineProfiles
	}
	profiles, err := lru.New[[sha256.Size]byte, *profile](n)
	if err != nil {
		panic(err) // cannot happen: n > 0
	}
	return &Offline{threshold: t, profiles: profiles}
}

// profile returns e's profile, read once and then remembered.
func (o *Offline) profile(e events.Event) *profile {
	key := profileKey(e)
	if p, ok := o.profiles.Get(key); ok {
		return p
	}
	p := newProfile(e)
	o.profiles.Add(key, &p)
	return &p
}

// Model is OfflineModel.
func (o *Offline) Model() string { return OfflineModel }

// PromptVersion is OfflinePromptVersion.
func (o *Offline) PromptVersion() string { return OfflinePromptVersion }

// Classify judges every candidate against newEvent and returns the related
// ones in candidate order. Candidates that are the New Event itself are
// skipped. It fails only when ctx is done.
func (o *Offline) Classify(ctx context.Context, newEvent events.Event, candidates []Candidate) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("offline classifier: %w", err)
	}
	var res Result
	if len(candidates) == 0 {
		return res, nil
	}
	self := selfLinks(newEvent, candidates)
	newP := *o.profile(newEvent)
	top := math.Inf(-1)
	for _, c := range candidates {
		top = math.Max(top, c.Similarity)
	}
	for _, c := range candidates {
		if self[c.Number] {
			continue
		}
		candP := *o.profile(c.Event)
		ev := gather(newP, newEvent, c, candP, top)
		score := relatedness(ev)
		if score < o.threshold && !isDuplicate(ev) {
			continue
		}
		typ, cue := relationType(ev, newP, candP)
		res.Relations = append(res.Relations, Relation{
			Number:     c.Number,
			Type:       typ,
			Confidence: confidence(score, o.threshold),
			Rationale:  rationale(c.Number, typ, cue, ev, newEvent, c.Event),
		})
	}
	return res, nil
}

// relatedness is the evidence that a candidate belongs with the New Event:
// similarityWeight × cosine + shared names (at most maxSharedNames).
func relatedness(ev evidence) float64 {
	return similarityWeight*ev.sim + float64(min(len(ev.shared), maxSharedNames))
}

// confidence maps a relatedness score to [0, 1], rising with the score: 0.5
// at the threshold, about 0.82 one point above it, 0.95 two points above.
// A near-duplicate below the threshold gets what its score gives.
func confidence(score, threshold float64) float64 {
	c := 1 / (1 + math.Exp(-1.5*(score-threshold)))
	return math.Round(math.Min(0.99, math.Max(0.01, c))*100) / 100
}

package analyzer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// BatchOptions configures NewBatcher.
type BatchOptions struct {
	// API is the provider's Batch API (OpenAIBatches over the classifier's
	// client).
	API BatchAPI
	// MaxRequests and MaxBytes split a submission into batches of at most
	// this many requests and input files of at most this many bytes, the
	// provider's limits. Defaults DefaultBatchMaxRequests and
	// DefaultBatchMaxBytes (OpenAI's 50,000 and 200 MB).
	MaxRequests int
	MaxBytes    int64
	// Reserve is how long a batched analysis stays reserved for its batch:
	// past it, a pass takes the analysis over as if the batch were lost.
	// Default 25h, the 24-hour window and an hour for the provider to
	// finalise it and for a pass to collect it.
	Reserve time.Duration
}

// Batcher sends analyses through the Batch API and collects their results:
// the same requests as the synchronous classifier's, rendered by it, and
// the same judging and writing of replies, at the Batch API's half price
// and within its 24-hour window.
type Batcher struct {
	c    *OpenAI
	opts BatchOptions
}

// NewBatcher returns a batcher for c, which must be the openai classifier.
func NewBatcher(c Classifier, opts BatchOptions) (*Batcher, error) {
	o, ok := c.(*OpenAI)
	if !ok {
		return nil, fmt.Errorf("analyzer: %w, not %s", errNoBatchAPI, c.Model())
	}
	if opts.API == nil {
		return nil, errors.New("analyzer: batcher without a batch api")
	}
	if opts.MaxRequests <= 0 {
		opts.MaxRequests = DefaultBatchMaxRequests
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultBatchMaxBytes
	}
	if opts.Reserve <= 0 {
		opts.Reserve = 25 * time.Hour
	}
	return &Batcher{c: o, opts: opts}, nil
}

func (b *Batcher) key() key { return key{b.c.Model(), b.c.PromptVersion()} }

// customID is the analysis key a request answers: event, model, prompt
// version.
func customID(eventID int64, k key) string {
	return fmt.Sprintf("%d/%s/%s", eventID, k.model, k.promptVersion)
}

// Submitted is what Submit did.
type Submitted struct {
	// Events were sent; Batches are the provider's ids of the batches
	// created.
	Events  int
	Batches []string
	// Stats counts the analyses Submit finished itself (events without
	// candidates, which need no request) or failed.
	Stats Stats
}

// Submit claims the events that need analysis under the classifier's key,
// as Analyze would (opts: scope, limit, lease, attempts, run), renders each
// request exactly as the synchronous call, and submits them in batches of
// at most MaxRequests requests and MaxBytes bytes. Each claimed chunk is
// recorded — batch row, requests, analyses marked batched — in one
// transaction before anything is sent; see the migration 008 and
// Collect for what a crash at each step leaves and how it is recovered.
func (b *Batcher) Submit(ctx context.Context, pool *pgxpool.Pool, opts Options) (Submitted, error) {
	opts = opts.withDefaults()
	k := b.key()
	var out Submitted
	passStart := opts.PassStart
	if passStart.IsZero() {
		var err error
		if passStart, err = Now(ctx, pool); err != nil {
			return out, err
		}
	}
	mark, err := watermark(ctx, pool, opts.EmbeddingModel)
	if err != nil {
		return out, err
	}
	s := &submission{b: b, pool: pool, k: k, opts: opts, out: &out}
	var cursor orderKey
	claimed, retried := 0, false
	for ctx.Err() == nil && !stopped(opts.Stop) {
		n := opts.ClaimBatch
		if opts.Limit > 0 {
			if n = min(n, opts.Limit-claimed); n <= 0 {
				break
			}
		}
		claims, err := claimEvents(ctx, pool, claimRequest{k: k, embeddingModel: opts.EmbeddingModel, limit: n,
			lease: opts.Lease, maxAttempts: opts.MaxAttempts, passStart: passStart, sc: opts.scope(passStart),
			runID: opts.RunID, after: cursor, mark: mark})
		if err != nil {
			return out, s.abort(err)
		}
		claimed += len(claims)
		if len(claims) > 0 {
			cursor = claims[len(claims)-1].order
		}
		if err := s.add(ctx, claims); err != nil {
			return out, s.abort(err)
		}
		if len(claims) == n {
			retried = false
			continue
		}
		if !retried {
			retried = true
			continue
		}
		break
	}
	if err := s.seal(ctx); err != nil {
		return out, err
	}
	return out, ctx.Err()
}

func stopped(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

// submission is one call of Submit: the batch being filled.
type submission struct {
	b    *Batcher
	pool *pgxpool.Pool
	k    key
	opts Options
	out  *Submitted

	batch int64 // the batch being filled; 0: none
	lines [][]byte
	bytes int64
}

// add renders claims and records them in the current batch, sealing it
// and starting the next where a limit would be passed.
func (s *submission) add(ctx context.Context, claims []claim) error {
	var ready []batchItem
	for i, cl := range claims {
		it, err := s.render(ctx, cl)
		if err != nil {
			if storageFault(err) {
				_ = release(context.WithoutCancel(ctx), s.pool, claims[i:])
				return err
			}
			dead, ferr := fail(ctx, s.pool, s.k, cl, err, s.opts.MaxAttempts, Result{}, nil)
			if ferr != nil && !errors.Is(ferr, errLost) {
				return ferr
			}
			if dead {
				s.out.Stats.Dead++
			} else if ferr == nil {
				s.out.Stats.Failed++
			}
			s.opts.Logger.Warn("analysis failed", "event", cl.eventID, "err", err)
			continue
		}
		if it == nil {
			continue // finished without a request
		}
		ready = append(ready, *it)
	}
	for len(ready) > 0 {
		if s.batch == 0 {
			id, err := createBatch(ctx, s.pool, s.k, s.opts.RunID)
			if err != nil {
				return err
			}
			s.batch = id
		}
		fit, bytes := 0, s.bytes
		for _, it := range ready {
			if len(s.lines)+fit+1 > s.b.opts.MaxRequests || bytes+int64(len(it.line))+1 > s.b.opts.MaxBytes {
				break
			}
			fit++
			bytes += int64(len(it.line)) + 1
		}
		if fit == 0 && len(s.lines) == 0 {
			// One request over the file limit: it can never be sent.
			it := ready[0]
			ready = ready[1:]
			err := fmt.Errorf("batch request of %d bytes is over the limit of %d", len(it.line), s.b.opts.MaxBytes)
			if _, ferr := fail(ctx, s.pool, s.k, it.c, err, s.opts.MaxAttempts, Result{}, it.candidates); ferr != nil && !errors.Is(ferr, errLost) {
				return ferr
			}
			s.out.Stats.Failed++
			continue
		}
		if fit == 0 {
			if err := s.seal(ctx); err != nil {
				return err
			}
			continue
		}
		kept, err := addItems(ctx, s.pool, s.k, s.batch, ready[:fit], s.b.opts.Reserve)
		if err != nil {
			_ = release(context.WithoutCancel(ctx), s.pool, claimsOf(ready))
			return err
		}
		for _, it := range kept {
			s.lines = append(s.lines, it.line)
			s.bytes += int64(len(it.line)) + 1
		}
		s.out.Stats.Lost += fit - len(kept)
		ready = ready[fit:]
	}
	return nil
}

func claimsOf(items []batchItem) []claim {
	out := make([]claim, len(items))
	for i, it := range items {
		out[i] = it.c
	}
	return out
}

// render retrieves a claimed event's candidates and renders its request;
// an event without candidates is finished at once, as Analyze does, and
// nil returned.
func (s *submission) render(ctx context.Context, cl claim) (*batchItem, error) {
	newEvent, cands, err := candidatesOf(ctx, s.pool, s.opts, cl.eventID)
	if err != nil {
		return nil, err
	}
	if len(cands) == 0 {
		if _, err := finish(ctx, s.pool, s.k, cl, s.opts.RunID, Result{}, nil, candidateIDs(cands), s.opts.ReaskRejected); err != nil {
			if errors.Is(err, errLost) {
				s.out.Stats.Lost++
				return nil, nil
			}
			return nil, err
		}
		s.out.Stats.Analysed++
		return nil, nil
	}
	first, err := s.b.c.render(newEvent, cands)
	if err != nil {
		return nil, fmt.Errorf("event %s: %w: %w", newEvent.SourceID, errClassify, err)
	}
	id := customID(cl.eventID, s.k)
	line, err := batchLine(id, first.req)
	if err != nil {
		return nil, fmt.Errorf("event %s: %w: %w", newEvent.SourceID, errClassify, err)
	}
	sims := make([]float64, len(cands))
	for i, c := range cands {
		sims[i] = c.Similarity
	}
	return &batchItem{c: cl, customID: id, line: line, candidates: candidateIDs(cands), similarities: sims, shown: first.shown}, nil
}

// seal submits the batch being filled. It is recorded as preparing until
// the provider's ids are: if the process stops while the file is uploaded
// or the batch created, the next collection finds the batch at the
// provider by its metadata, or gives its requests back. The call is not
// cut by cancellation, so that a batch created is recorded.
func (s *submission) seal(ctx context.Context) error {
	if s.batch == 0 {
		return nil
	}
	batch, lines := s.batch, s.lines
	s.batch, s.lines, s.bytes = 0, nil, 0
	if len(lines) == 0 {
		_, err := s.pool.Exec(ctx, `DELETE FROM batches WHERE id = $1`, batch)
		return err
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Minute)
	defer cancel()
	pb, err := s.b.opts.API.Submit(sctx, fmt.Sprintf("relator-batch-%d.jsonl", batch), lines,
		map[string]string{"relator_batch": fmt.Sprint(batch)})
	if err != nil {
		// Left preparing: the next collection looks for it at the
		// provider and adopts it, or gives its requests back.
		_ = recordProvider(sctx, s.pool, batch, ProviderBatch{InputFileID: pb.InputFileID}, err.Error())
		return fmt.Errorf("submit batch %d: %w", batch, err)
	}
	if err := recordProvider(sctx, s.pool, batch, pb, ""); err != nil {
		return err
	}
	s.out.Events += len(lines)
	s.out.Batches = append(s.out.Batches, pb.ID)
	s.opts.Logger.Info("batch submitted", "batch", pb.ID, "requests", len(lines), "status", pb.Status)
	return nil
}

// abort seals what was recorded (those requests are batched already) and
// returns err.
func (s *submission) abort(err error) error {
	if serr := s.seal(context.WithoutCancel(context.Background())); serr != nil {
		s.opts.Logger.Error("submit batch", "err", serr)
	}
	return err
}

package analyzer

import (
	"context"
	"errors"
	"fmt"

	openai "github.com/sashabaranov/go-openai"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/relator/relator/events"
)

// Collected is what Collect did.
type Collected struct {
	// Polled batches were asked about; Finished of them were collected.
	Polled   int
	Finished []string
	// Returned analyses went back to pending (failed requests, expired,
	// cancelled or failed batches, batches never sent).
	Returned int
	// Stats counts the analyses written from batch replies: Calls counts
	// the batch requests answered and any repair calls.
	Stats Stats
}

// Collect polls the uncollected batches of the classifier's key and
// collects those the provider has ended. Each reply is judged and written
// exactly as a synchronous reply: invalid items are dropped and counted, a
// reply that needs a repair gets the synchronous repair call, and the
// event's relations and its "analysed" mark go in one transaction. Failed
// requests (the error file, or a non-200 response) return to pending with
// their attempt counted; what an expired, cancelled or failed batch did
// not answer returns to pending with its attempt given back.
//
// A crash while collecting loses nothing and writes nothing twice: every
// reply is written only if its analysis is still batched for this batch,
// and the batch is closed only after all of it is written or given back,
// so the next collection does what is left.
//
// A batch recorded but never created at the provider (the process stopped
// before it knew the provider's id) is looked up by its metadata: adopted
// if found, its requests given back if not.
func (b *Batcher) Collect(ctx context.Context, pool *pgxpool.Pool, opts Options) (Collected, error) {
	opts = opts.withDefaults()
	k := b.key()
	var out Collected
	open, err := uncollected(ctx, pool, k)
	if err != nil {
		return out, err
	}
	for _, ob := range open {
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
		if ob.providerID == "" {
			pb, found, err := b.opts.API.Find(ctx, fmt.Sprint(ob.id), ob.createdAt)
			if err != nil {
				opts.Logger.Warn("look for an unrecorded batch", "batch", ob.id, "err", err)
				continue
			}
			if !found {
				n, err := giveBack(ctx, pool, k, ob.id, nil, false, "", opts.MaxAttempts)
				if err != nil {
					return out, err
				}
				out.Returned += n
				if err := collected(ctx, pool, ob.id, "abandoned", batchCounts{returned: n}, opts.RunID); err != nil {
					return out, err
				}
				opts.Logger.Info("batch never submitted: its requests are pending again", "batch", ob.id, "returned", n)
				continue
			}
			opts.Logger.Info("adopted a batch submitted but not recorded", "batch", ob.id, "provider_batch", pb.ID)
			ob.providerID = pb.ID
		}
		pb, err := b.opts.API.Retrieve(ctx, ob.providerID)
		if err != nil {
			return out, err
		}
		out.Polled++
		if err := recordProvider(ctx, pool, ob.id, pb, ""); err != nil {
			return out, err
		}
		if !pb.terminal() {
			continue
		}
		if err := b.collect(ctx, pool, opts, ob.id, pb, &out); err != nil {
			return out, err
		}
		out.Finished = append(out.Finished, pb.ID)
	}
	return out, nil
}

// collectChunk bounds the replies written per transaction.
const collectChunk = 32

// collect writes the results of one ended batch and gives back the rest.
func (b *Batcher) collect(ctx context.Context, pool *pgxpool.Pool, opts Options, batch int64, pb ProviderBatch, out *Collected) error {
	k := b.key()
	byID, err := items(ctx, pool, batch)
	if err != nil {
		return err
	}
	var counts batchCounts
	var results []batchResult
	for _, f := range []string{pb.OutputFileID, pb.ErrorFileID} {
		if f == "" {
			continue
		}
		content, err := b.opts.API.Content(ctx, f)
		if err != nil {
			return err
		}
		rs, err := parseResults(content)
		if err != nil {
			return fmt.Errorf("batch %s file %s: %w", pb.ID, f, err)
		}
		results = append(results, rs...)
	}
	var replies []reply
	for _, r := range results {
		it, ok := byID[r.CustomID]
		if !ok {
			opts.Logger.Warn("batch result names no request of the batch", "batch", pb.ID, "custom_id", r.CustomID)
			continue
		}
		resp, ok, problem := r.reply()
		if !ok {
			n, err := giveBack(ctx, pool, k, batch, []int64{it.c.eventID}, !r.unanswered(), problem, opts.MaxAttempts)
			if err != nil {
				return err
			}
			counts.returned += n
			continue
		}
		replies = append(replies, reply{it, resp})
		counts.tokensIn += int64(resp.Usage.PromptTokens)
		counts.tokensOut += int64(resp.Usage.CompletionTokens)
	}
	for len(replies) > 0 {
		chunk := replies[:min(collectChunk, len(replies))]
		replies = replies[len(chunk):]
		if err := b.writeReplies(ctx, pool, opts, batch, chunk, &counts, out); err != nil {
			return err
		}
	}
	// What the batch did not answer: expired, cancelled, failed.
	n, err := giveBack(ctx, pool, k, batch, nil, false, "batch "+pb.Status+" before answering", opts.MaxAttempts)
	if err != nil {
		return err
	}
	counts.returned += n
	out.Returned += counts.returned
	opts.Logger.Info("batch collected", "batch", pb.ID, "status", pb.Status, "analysed", counts.analysed,
		"returned", counts.returned, "relations", counts.relations, "invalid", counts.invalid)
	return collected(ctx, pool, batch, "", counts, opts.RunID)
}

// reply is one answered request.
type reply struct {
	it   batchItem
	resp openai.ChatCompletionResponse
}

// writeReplies judges one chunk of replies and writes them in one
// transaction. The replies are judged (and repaired) while their analyses
// are still batched, so a crash meanwhile leaves them for the next
// collection; only then are they taken back as claims and written.
func (b *Batcher) writeReplies(ctx context.Context, pool *pgxpool.Pool, opts Options, batch int64, chunk []reply,
	counts *batchCounts, out *Collected) error {
	k := b.key()
	type judged struct {
		it   batchItem
		res  Result
		rels []written
		err  error
	}
	js := make([]judged, len(chunk))
	tokens := make([]pgtype.UUID, len(chunk))
	ids := make([]int64, 0, len(chunk)*16)
	for _, r := range chunk {
		ids = append(append(ids, r.it.c.eventID), r.it.candidates...)
	}
	evs, err := events.ByIDs(ctx, pool, ids)
	if err != nil {
		return err
	}
	for i, r := range chunk {
		tokens[i] = r.it.c.token
		js[i].it = r.it
		newEvent, ok := evs[r.it.c.eventID]
		cands := make([]Candidate, 0, len(r.it.candidates))
		for n, id := range r.it.candidates {
			if ev, found := evs[id]; found {
				cands = append(cands, Candidate{Number: len(cands) + 1, Event: ev, Similarity: r.it.similarities[n]})
			}
		}
		if !ok || len(cands) < len(r.it.candidates) || r.it.shown > len(cands) {
			// Judged against other candidates than it was asked about.
			js[i].err = fmt.Errorf("event %d or a candidate of it vanished: %w", r.it.c.eventID, errClassify)
			continue
		}
		// The reply is judged against the candidates the prompt showed;
		// the prompt itself is rendered again only for a repair call.
		first := firstCall{shown: r.it.shown, self: selfLinks(newEvent, cands[:r.it.shown]),
			rerender: func() (firstCall, error) { return b.c.render(newEvent, cands) }}
		res := Result{Calls: 1, TokensIn: r.resp.Usage.PromptTokens, TokensOut: r.resp.Usage.CompletionTokens}
		res, err := b.c.settle(ctx, newEvent, first, r.resp, res)
		if err != nil {
			err = fmt.Errorf("event %s: %w: %w", newEvent.SourceID, errClassify, err)
			if storageFault(err) {
				return err // a fatal API error: the analyses stay batched
			}
		}
		js[i].res, js[i].err = res, err
		if err == nil {
			js[i].res, js[i].rels = toWrite(res, newEvent, cands)
		}
	}
	held, err := takeBack(ctx, pool, k, batch, tokens, opts.Lease)
	if err != nil {
		return err
	}
	var fs []finishing
	for _, j := range js {
		if !held[j.it.c.token] {
			out.Stats.Lost++
			continue
		}
		if j.err != nil {
			dead, ferr := fail(ctx, pool, k, j.it.c, j.err, opts.MaxAttempts, j.res, j.it.candidates)
			switch {
			case errors.Is(ferr, errLost):
				out.Stats.Lost++
			case ferr != nil:
				return ferr
			case dead:
				out.Stats.Dead++
			default:
				out.Stats.Failed++
			}
			out.Stats.Calls += j.res.Calls
			out.Stats.TokensIn += j.res.TokensIn
			out.Stats.TokensOut += j.res.TokensOut
			continue
		}
		fs = append(fs, finishing{j.it.c, j.res, j.rels, j.it.candidates})
	}
	if len(fs) == 0 {
		return nil
	}
	done, err := finishAll(ctx, pool, k, opts.RunID, opts.ReaskRejected, fs)
	if err != nil && len(fs) > 1 {
		// As Analyze's writer does: each alone, so that one event the
		// database refuses fails alone.
		done, err = make([]finished, len(fs)), nil
		for i, f := range fs {
			one, ferr := finishAll(ctx, pool, k, opts.RunID, opts.ReaskRejected, []finishing{f})
			if ferr == nil {
				done[i] = one[0]
				continue
			}
			if storageFault(ferr) {
				return ferr
			}
			if _, ferr := fail(ctx, pool, k, f.c, ferr, opts.MaxAttempts, f.res, f.candidates); ferr != nil && !errors.Is(ferr, errLost) {
				return ferr
			}
			done[i] = finished{err: errFailed}
		}
	}
	if err != nil {
		return err
	}
	for i, d := range done {
		o := Outcome{EventID: fs[i].c.eventID, Status: "done", Relations: d.types, Result: fs[i].res}
		switch {
		case errors.Is(d.err, errFailed):
			o.Status, o.Relations = "failed", nil
		case d.err != nil:
			o.Status, o.Relations = "lost", nil
		default:
			counts.analysed++
			counts.invalid += fs[i].res.Invalid
			counts.relations += len(d.types)
		}
		out.Stats.add(o)
		if opts.Observe != nil {
			opts.Observe(o)
		}
	}
	return nil
}

// errFailed marks a reply whose write the database refused: recorded as a
// failed analysis.
var errFailed = errors.New("write refused")

package analyzer

import (
	"context"
	"errors"
	"fmt"

	openai "github.com/sashabaranov/go-openai"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
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
			n, err := giveBack(ctx, pool, k, batch, []int64{it.c.eventID}, true, problem, opts.MaxAttempts)
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

// writeReplies judges and writes one chunk of replies in one transaction.
func (b *Batcher) writeReplies(ctx context.Context, pool *pgxpool.Pool, opts Options, batch int64, chunk []reply,
	counts *batchCounts, out *Collected) error {
	k := b.key()
	tokens := make([]pgtype.UUID, len(chunk))
	for i, r := range chunk {
		tokens[i] = r.it.c.token
	}
	held, err := takeBack(ctx, pool, k, batch, tokens, opts.Lease)
	if err != nil {
		return err
	}
	var fs []finishing
	for _, r := range chunk {
		if !held[r.it.c.token] {
			out.Stats.Lost++
			continue
		}
		newEvent, cands, err := numberedCandidates(ctx, pool, r.it.c.eventID, r.it.candidates, r.it.similarities)
		if err == nil && len(cands) < len(r.it.candidates) {
			err = fmt.Errorf("a candidate of event %d vanished: %w", r.it.c.eventID, errClassify)
		}
		var res Result
		if err == nil {
			res = Result{Calls: 1, TokensIn: r.resp.Usage.PromptTokens, TokensOut: r.resp.Usage.CompletionTokens}
			var first firstCall
			if first, err = b.c.render(newEvent, cands); err == nil {
				res, err = b.c.settle(ctx, newEvent, first, r.resp, res)
			}
			if err != nil {
				err = fmt.Errorf("event %s: %w: %w", newEvent.SourceID, errClassify, err)
			}
		}
		if err != nil {
			if storageFault(err) {
				_ = release(context.WithoutCancel(ctx), pool, []claim{r.it.c})
				return err
			}
			dead, ferr := fail(ctx, pool, k, r.it.c, err, opts.MaxAttempts, res, r.it.candidates)
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
			out.Stats.Calls += res.Calls
			out.Stats.TokensIn += res.TokensIn
			out.Stats.TokensOut += res.TokensOut
			continue
		}
		res, rels := toWrite(res, newEvent, cands)
		fs = append(fs, finishing{r.it.c, res, rels, r.it.candidates})
	}
	if len(fs) == 0 {
		return nil
	}
	done, err := finishAll(ctx, pool, k, opts.RunID, opts.ReaskRejected, fs)
	if err != nil {
		return err
	}
	for i, d := range done {
		o := Outcome{EventID: fs[i].c.eventID, Status: "done", Relations: d.types, Result: fs[i].res}
		if d.err != nil {
			o.Status = "lost"
			o.Relations = nil
		} else {
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

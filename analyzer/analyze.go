package analyzer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/relator/relator/embeddings"
	"github.com/relator/relator/events"
	"github.com/relator/relator/internal/openaiclient"
)

// Options configures Analyze.
type Options struct {
	// EmbeddingModel names the vectors candidates are retrieved by; only
	// events with a current vector of it, and whose priors all have one,
	// are analysed.
	EmbeddingModel string
	// Search is the retrieval: K candidates, optional time window.
	Search embeddings.SearchOptions
	// Concurrency is how many events are classified at once: model calls
	// are slow, so they overlap. A few more events than this are retrieved
	// and rendered ahead (prepareAhead), so that when a call ends the
	// next one starts at once instead of after its retrieval: this many
	// stay in flight. Default 4.
	Concurrency int
	// ClaimBatch caps how many events one claim leases, when several
	// workers are free at once. Default 32.
	ClaimBatch int
	// Lease is how long a claim holds an event without renewal; a process
	// renews its leases while it works, so a crashed process's events are
	// taken over by another within about one lease. Default 60s.
	Lease time.Duration
	// MaxAttempts is how often an event's analysis may fail before it is
	// dead (dead-lettered until requeued). Default 3.
	MaxAttempts int
	// From and To, when set, keep the analysis to new events that occurred
	// in [From, To) (a backfill's range); their priors are not bounded.
	From, To time.Time
	// ReanalyseBefore, when set, counts analyses finished before it as not
	// done, so they are done again under the current model and prompt
	// version (backfill --reanalyze). A fixed time makes that resumable.
	ReanalyseBefore time.Time
	// Limit, when positive, caps how many events this call claims.
	Limit int
	// PassStart is when the pass began, by the database's clock: events
	// that failed since are left for a later pass. Default: now.
	PassStart time.Time
	// Stop, when closed, ends claiming: analyses in flight finish (unless
	// ctx is cancelled, which releases them) and Analyze returns.
	Stop <-chan struct{}
	// Observe, when set, is told of every event this call finished, failed
	// or gave up (for progress bars and metrics); it must be safe for
	// concurrent use.
	Observe func(Outcome)
	// ReaskRejected writes a pair a reviewer rejected (under any model and
	// prompt version) again as pending when the analysis finds it; by
	// default a rejection is remembered and the pair is not written again.
	ReaskRejected bool
	// Budget, when set, is asked before every chat call; once it refuses
	// one, no new claims are made, the refused event is handed back
	// pending and Analyze returns when the calls in flight end.
	Budget Budget
	// RunID is stored with every relation and analysis written.
	RunID  int64
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.ClaimBatch <= 0 {
		o.ClaimBatch = 32
	}
	if o.Lease <= 0 {
		o.Lease = time.Minute
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 3
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Outcome is what became of one claimed event.
type Outcome struct {
	EventID int64
	// Status is done, failed (retried by a later pass), dead (failed for
	// the last time), lost (another process took the claim over),
	// released (interrupted; handed back unanalysed) or deferred (its call
	// would have crossed the budget; handed back unanalysed).
	Status    string
	Relations []RelationType // inserted
	Result    Result         // the classifier's calls, tokens and dropped items
	Err       error          // why it failed
}

// Stats counts what Analyze did: what was committed, not what was tried.
type Stats struct {
	Analysed  int // events whose analysis was committed as done
	Failed    int // events whose analysis failed this pass (to be retried)
	Dead      int // events whose analysis failed for the last time
	Lost      int // claims another process took over after their lease ran out
	Released  int // claims handed back unanalysed on interruption
	Deferred  int // claims handed back unanalysed at the budget
	TakenOver int // claims taken over from processes whose leases ran out
	Written   int // relations inserted
	ByType    map[RelationType]int
	Calls     int // model calls, including those of failed analyses
	Reused    int // model calls not made: the call log had their answers
	TokensIn  int
	TokensOut int
	Invalid   int // model items dropped as invalid
}

func (s *Stats) add(o Outcome) {
	switch o.Status {
	case "done":
		s.Analysed++
	case "failed":
		s.Failed++
	case "dead":
		s.Dead++
	case "lost":
		s.Lost++
	case "released":
		s.Released++
	case "deferred":
		s.Deferred++
	}
	s.Calls += o.Result.Calls
	s.Reused += o.Result.Reused
	s.TokensIn += o.Result.TokensIn
	s.TokensOut += o.Result.TokensOut
	if o.Status == "done" {
		s.Invalid += o.Result.Invalid
	}
	for _, t := range o.Relations {
		if s.ByType == nil {
			s.ByType = map[RelationType]int{}
		}
		s.ByType[t]++
		s.Written++
	}
}

// Merge adds the counts of o to s.
func (s *Stats) Merge(o Stats) {
	s.Analysed += o.Analysed
	s.Failed += o.Failed
	s.Dead += o.Dead
	s.Lost += o.Lost
	s.Released += o.Released
	s.Deferred += o.Deferred
	s.TakenOver += o.TakenOver
	s.Written += o.Written
	s.Calls += o.Calls
	s.Reused += o.Reused
	s.TokensIn += o.TokensIn
	s.TokensOut += o.TokensOut
	s.Invalid += o.Invalid
	for t, n := range o.ByType {
		if s.ByType == nil {
			s.ByType = map[RelationType]int{}
		}
		s.ByType[t] += n
	}
}

// Types lists the relation types counted, in taxonomy order.
func (s Stats) Types() []RelationType {
	return slices.SortedFunc(maps.Keys(s.ByType), func(a, b RelationType) int { return order(a) - order(b) })
}

func order(t RelationType) int {
	return slices.IndexFunc(Taxonomy(), func(i TypeInfo) bool { return i.Type == t })
}

// Analyze classifies the events that need it under c's model and prompt
// version — never analysed, changed since, or failed with attempts left —
// against their retrieved prior candidates, and writes each event's
// relations, with its "analysed" mark, in one transaction.
//
// Events are claimed continuously: whenever a worker is free, the next
// events are leased, so one slow model call never idles the others. Leases
// are renewed while their events are worked on, so several processes share
// the work and a crashed one's events are taken over within a lease.
// Analyze returns when nothing is left that it can claim now; Remaining
// tells what others hold or what waits for vectors.
//
// An event's own trouble — a classifier error, content that changed under
// it, a relation the database refuses — fails that event alone (recorded,
// retried by later passes, dead after MaxAttempts) and the pass goes on;
// only errors of the database itself and cancellation end it early.
func Analyze(ctx context.Context, pool *pgxpool.Pool, c Classifier, opts Options) (Stats, error) {
	opts = opts.withDefaults()
	a := &analysis{pool: pool, c: c, opts: opts, k: key{c.Model(), c.PromptVersion()},
		held: map[pgtype.UUID]*heldClaim{}, freed: make(chan struct{}, 1)}
	a.passStart = opts.PassStart
	if a.passStart.IsZero() {
		var err error
		if a.passStart, err = Now(ctx, pool); err != nil {
			return Stats{}, err
		}
	}
	a.sc = opts.scope(a.passStart)
	return a.run(ctx)
}

// scope is the pass's range and re-analysis time, the latter no later than
// the pass's start: what this pass analyses must count as done, or it would
// never end.
func (o Options) scope(passStart time.Time) scope {
	sc := scope{from: o.From, to: o.To, reanalyseBefore: o.ReanalyseBefore}
	if sc.reanalyseBefore.After(passStart) {
		sc.reanalyseBefore = passStart
	}
	return sc
}

// Now reads the database's clock, which every process compares leases and
// failures with.
func Now(ctx context.Context, pool *pgxpool.Pool) (time.Time, error) {
	var t time.Time
	if err := pool.QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&t); err != nil {
		return t, fmt.Errorf("read database time: %w", err)
	}
	return t, nil
}

// heldClaim is a claim in flight: cancel ends its work when the claim is
// lost or the pass ends.
type heldClaim struct {
	claim
	cancel context.CancelFunc
	lost   bool
}

// analysis is one call of Analyze.
type analysis struct {
	pool      *pgxpool.Pool
	c         Classifier
	opts      Options
	k         key
	sc        scope
	passStart time.Time // the database's clock: failures since then wait for the next pass
	stopWork  context.CancelCauseFunc

	writes chan writeRequest // to the writer, which batches them
	// slots holds a token per classification in progress: at most
	// Concurrency, however many workers are retrieving ahead.
	slots chan struct{}

	mu    sync.Mutex
	stats Stats
	held  map[pgtype.UUID]*heldClaim
	fatal error         // the first storage error, which ends the pass
	freed chan struct{} // a worker finished: there is room to claim
}

func (a *analysis) run(ctx context.Context) (Stats, error) {
	workCtx, stopWork := context.WithCancelCause(ctx)
	defer stopWork(nil)
	a.stopWork = stopWork
	hbCtx, stopHeartbeat := context.WithCancel(ctx)
	var hb sync.WaitGroup
	hb.Go(func() { a.heartbeat(hbCtx) })

	mark, err := watermark(ctx, a.pool, a.opts.EmbeddingModel)
	if err != nil {
		stopHeartbeat()
		hb.Wait()
		return Stats{}, err
	}

	// Concurrency workers take claimed events from jobs. The claimer keeps
	// up to Concurrency more claimed ahead, and claims again whenever half
	// a batch of room is free, so that C calls stay in flight at any C
	// without a claim per finished event.
	c := a.opts.Concurrency
	workers := c + prepareAhead(c)
	capacity := c + workers
	refill := max(1, min(a.opts.ClaimBatch, c/2))
	jobs := make(chan job, capacity)
	var outstanding atomic.Int64 // claimed and not yet finished
	a.writes = make(chan writeRequest, c)
	a.slots = make(chan struct{}, c)
	var writer sync.WaitGroup
	writer.Go(func() { a.writer(ctx) })
	var working sync.WaitGroup
	for range workers {
		working.Go(func() {
			for j := range jobs {
				a.work(ctx, j.ctx, j.h)
				outstanding.Add(-1)
				select {
				case a.freed <- struct{}{}:
				default:
				}
			}
		})
	}

	var cursor orderKey
	claimed := 0
	retried := false
	for !a.stopping(workCtx) {
		free := capacity - int(outstanding.Load())
		if a.opts.Limit > 0 {
			free = min(free, a.opts.Limit-claimed)
			if free <= 0 {
				break
			}
		}
		if free < refill && (a.opts.Limit == 0 || a.opts.Limit-claimed >= refill) {
			a.waitFreed(workCtx)
			continue
		}
		n := min(free, a.opts.ClaimBatch)
		// Not cancelled midway: a claim committed by the server but never
		// read back would sit leased until its lease ran out.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(workCtx), writeTimeout)
		claims, err := claimEvents(cctx, a.pool, claimRequest{k: a.k, embeddingModel: a.opts.EmbeddingModel, limit: n,
			lease: a.opts.Lease, maxAttempts: a.opts.MaxAttempts, passStart: a.passStart, sc: a.sc, runID: a.opts.RunID,
			after: cursor, mark: mark})
		cancel()
		if err != nil {
			a.setFatal(err)
			break
		}
		if a.stopping(workCtx) {
			a.releaseUnstarted(claims)
			break
		}
		claimed += len(claims)
		if n := takenOver(claims); n > 0 {
			a.opts.Logger.Info("took over events from a process whose leases ran out", "events", n)
			a.mu.Lock()
			a.stats.TakenOver += n
			a.mu.Unlock()
		}
		for _, cl := range claims {
			h, cctx := a.hold(workCtx, cl)
			outstanding.Add(1)
			jobs <- job{h, cctx}
			cursor = cl.order
		}
		if len(claims) == n {
			retried = false
			continue
		}
		if !retried {
			// A claim's snapshot may predate another process's claim of
			// events it then skips: a fresh one, from the same place,
			// finds what is really left.
			retried = true
			continue
		}
		break // nothing more to claim in this call
	}
	close(jobs)
	working.Wait()
	close(a.writes)
	writer.Wait()
	stopHeartbeat()
	hb.Wait()

	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fatal != nil {
		return a.stats, a.fatal
	}
	return a.stats, ctx.Err()
}

// writeRequest is a worker's finished analysis, waiting to be written.
type writeRequest struct {
	f     finishing
	reply chan finished
}

// maxWriteBatch bounds the analyses one transaction writes.
const maxWriteBatch = 32

// write hands f to the writer and waits until it is written.
func (a *analysis) write(f finishing) ([]RelationType, error) {
	reply := make(chan finished, 1)
	a.writes <- writeRequest{f, reply}
	r := <-reply
	return r.types, r.err
}

// writer writes the analyses the workers finish: whatever has come in
// while the previous transaction ran goes in the next one, so a busy pass
// commits many events at once and an idle one writes each at once. When a
// shared transaction fails, each of its events is written alone, so that
// one event the database refuses fails alone.
func (a *analysis) writer(passCtx context.Context) {
	for req := range a.writes {
		batch := []writeRequest{req}
	more:
		for len(batch) < maxWriteBatch {
			select {
			case r, ok := <-a.writes:
				if !ok {
					break more
				}
				batch = append(batch, r)
			default:
				break more
			}
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(passCtx), writeTimeout)
		fs := make([]finishing, len(batch))
		for i, r := range batch {
			fs[i] = r.f
		}
		out, err := finishAll(ctx, a.pool, a.k, a.opts.RunID, a.opts.ReaskRejected, fs)
		if err != nil && len(batch) > 1 {
			for _, r := range batch {
				one, err := finishAll(ctx, a.pool, a.k, a.opts.RunID, a.opts.ReaskRejected, []finishing{r.f})
				if err != nil {
					r.reply <- finished{err: err}
				} else {
					r.reply <- one[0]
				}
			}
		} else {
			for i, r := range batch {
				if err != nil {
					r.reply <- finished{err: err}
				} else {
					r.reply <- out[i]
				}
			}
		}
		cancel()
	}
}

// job is a claimed event for a worker.
type job struct {
	h   *heldClaim
	ctx context.Context
}

// waitFreed waits until a worker finishes an event, or the pass stops.
func (a *analysis) waitFreed(ctx context.Context) {
	select {
	case <-a.freed:
	case <-a.opts.Stop:
	case <-ctx.Done():
	}
}

func takenOver(claims []claim) int {
	n := 0
	for _, c := range claims {
		if c.takenOver {
			n++
		}
	}
	return n
}

// releaseUnstarted hands back claims made as the pass was stopping.
func (a *analysis) releaseUnstarted(claims []claim) {
	if len(claims) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	if err := release(ctx, a.pool, claims); err != nil {
		a.opts.Logger.Error("release claims", "err", err)
	}
	a.mu.Lock()
	a.stats.Released += len(claims)
	a.mu.Unlock()
}

func (a *analysis) stopping(ctx context.Context) bool {
	if ctx.Err() != nil || a.opts.Budget != nil && a.opts.Budget.Exhausted() {
		return true
	}
	select {
	case <-a.opts.Stop:
		return true
	default:
		return false
	}
}

// setFatal records a storage error, which ends the pass: no more claims,
// and the work in flight is cancelled and released.
func (a *analysis) setFatal(err error) {
	a.mu.Lock()
	if a.fatal == nil {
		a.fatal = err
	}
	a.mu.Unlock()
	a.stopWork(err)
}

// hold registers a claim for lease renewal and returns the context its work
// runs in, which ends when the claim is lost or the pass's work is stopped.
func (a *analysis) hold(ctx context.Context, cl claim) (*heldClaim, context.Context) {
	cctx, cancel := context.WithCancel(ctx)
	h := &heldClaim{claim: cl, cancel: cancel}
	a.mu.Lock()
	a.held[cl.token] = h
	a.mu.Unlock()
	return h, cctx
}

// work analyses one claimed event and records the outcome, whatever it is.
func (a *analysis) work(passCtx, ctx context.Context, h *heldClaim) {
	defer func() {
		h.cancel()
		a.mu.Lock()
		delete(a.held, h.token)
		a.mu.Unlock()
	}()
	o := a.analyse(passCtx, ctx, h)
	a.mu.Lock()
	a.stats.add(o)
	a.mu.Unlock()
	switch o.Status {
	case "failed", "dead":
		a.opts.Logger.Warn("analysis failed", "event", h.eventID, "status", o.Status, "err", o.Err)
	case "lost":
		a.opts.Logger.Warn("analysis taken over by another process", "event", h.eventID)
	}
	if a.opts.Observe != nil {
		a.opts.Observe(o)
	}
}

// writeTimeout bounds the writes that record an outcome: they run even
// after the pass is cancelled, so that a model answer already paid for is
// not thrown away, but never hang a shutdown.
const writeTimeout = 15 * time.Second

func (a *analysis) analyse(passCtx, ctx context.Context, h *heldClaim) Outcome {
	o := Outcome{EventID: h.eventID}
	res, rels, cands, err := analyseOne(withBudget(ctx, a.opts.Budget), a.pool, a.c, a.opts, h.claim, a.slots)
	o.Result = res
	wctx, cancel := context.WithTimeout(context.WithoutCancel(passCtx), writeTimeout)
	defer cancel()
	if errors.Is(err, ErrBudgetReached) {
		// Not the event's fault: handed back pending, its attempt given
		// back, for the next pass.
		o.Status = "deferred"
		if rerr := release(wctx, a.pool, []claim{h.claim}); rerr != nil {
			a.opts.Logger.Error("release claim", "event", h.eventID, "err", rerr)
		}
		return o
	}
	if err != nil && ctx.Err() != nil {
		// Interrupted, or the lease was lost: nothing is recorded against
		// the event.
		if a.isLost(h) {
			o.Status = "lost"
			return o
		}
		o.Status = "released"
		if rerr := release(wctx, a.pool, []claim{h.claim}); rerr != nil {
			a.opts.Logger.Error("release claim", "event", h.eventID, "err", rerr)
		}
		return o
	}
	if err == nil {
		var inserted []RelationType
		inserted, err = a.write(finishing{h.claim, res, rels, cands})
		switch {
		case errors.Is(err, errLost):
			o.Status = "lost"
			return o
		case err == nil:
			o.Status, o.Relations = "done", inserted
			return o
		}
	}
	if storageFault(err) {
		a.setFatal(err)
		o.Status, o.Err = "released", err
		if rerr := release(wctx, a.pool, []claim{h.claim}); rerr != nil {
			a.opts.Logger.Error("release claim", "event", h.eventID, "err", rerr)
		}
		return o
	}
	o.Err = err
	dead, ferr := fail(wctx, a.pool, a.k, h.claim, err, a.opts.MaxAttempts, res, cands)
	switch {
	case errors.Is(ferr, errLost):
		o.Status = "lost"
	case ferr != nil:
		a.setFatal(ferr)
		o.Status = "released"
	case dead:
		o.Status = "dead"
	default:
		o.Status = "failed"
	}
	return o
}

func (a *analysis) isLost(h *heldClaim) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return h.lost
}

// heartbeat renews the leases of the claims in flight every third of a
// lease; a claim whose renewal finds it taken over is cancelled.
func (a *analysis) heartbeat(ctx context.Context) {
	t := time.NewTicker(max(a.opts.Lease/3, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		a.mu.Lock()
		tokens := slices.Collect(maps.Keys(a.held))
		a.mu.Unlock()
		if len(tokens) == 0 {
			continue
		}
		held, err := renew(ctx, a.pool, tokens, a.opts.Lease)
		if err != nil {
			if ctx.Err() == nil {
				a.opts.Logger.Warn("renew leases", "err", err)
			}
			continue
		}
		a.mu.Lock()
		for _, t := range tokens {
			if h, ok := a.held[t]; ok && !held[t] {
				h.lost = true
				h.cancel()
			}
		}
		a.mu.Unlock()
	}
}

// storageFault tells an error of relator's storage itself, which ends the
// pass, from one that concerns a single event: a classifier error, a vector
// that changed under the claim, or data the database refuses (SQLSTATE
// classes 22 data exception and 23 integrity violation). A model API error
// no retry can fix (an exhausted quota, a bad key) ends the pass too.
func storageFault(err error) bool {
	if errors.Is(err, openaiclient.ErrFatal) || errors.Is(err, errCallLog) {
		return true
	}
	if errors.Is(err, embeddings.ErrNoVector) || errors.Is(err, errClassify) {
		return false
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code[:2] != "22" && pg.Code[:2] != "23"
	}
	return true
}

// errClassify marks a classifier's failure.
var errClassify = errors.New("classify")

// analyseOne retrieves an event's candidates and classifies it; it returns
// the relations to write and the candidates' event ids, best first.
func analyseOne(ctx context.Context, pool *pgxpool.Pool, c Classifier, opts Options, cl claim, slots chan struct{}) (Result, []written, []int64, error) {
	newEvent, cands, err := candidatesOf(ctx, pool, opts, cl.eventID)
	if err != nil {
		return Result{}, nil, nil, err
	}
	seen := candidateIDs(cands)
	if len(cands) == 0 {
		return Result{}, nil, seen, nil // nothing to ask: no call
	}
	// Retrieved: wait for one of the Concurrency classification slots.
	select {
	case slots <- struct{}{}:
		defer func() { <-slots }()
	case <-ctx.Done():
		return Result{}, nil, seen, fmt.Errorf("event %s: %w: %w", newEvent.SourceID, errClassify, context.Cause(ctx))
	}
	result, err := c.Classify(withCallScope(ctx, callScope{runID: opts.RunID, since: cl.finishedAt}), newEvent, cands)
	if err != nil {
		// The result still counts the calls and tokens the failure cost.
		return result, nil, seen, fmt.Errorf("event %s: %w: %w", newEvent.SourceID, errClassify, err)
	}
	result, rels := toWrite(result, newEvent, cands)
	return result, rels, seen, nil
}

// prepareAhead is how many workers beyond Concurrency retrieve their next
// event while the Concurrency classifications run: a retrieval takes a few
// milliseconds of the database's time (more on a busy machine), which a
// worker that retrieved only after its call ended would add to every
// call's cycle (relator bench: 0.92 of the ideal rate at C = 16 without).
func prepareAhead(concurrency int) int { return max(2, concurrency/4) }

// candidatesOf retrieves an event and its numbered prior candidates.
func candidatesOf(ctx context.Context, pool *pgxpool.Pool, opts Options, eventID int64) (events.Event, []Candidate, error) {
	neighbors, err := embeddings.Neighbors(ctx, pool, opts.EmbeddingModel, eventID, opts.Search)
	if err != nil {
		return events.Event{}, nil, fmt.Errorf("retrieve candidates: %w", err)
	}
	ids := make([]int64, len(neighbors))
	sims := make([]float64, len(neighbors))
	for i, n := range neighbors {
		ids[i], sims[i] = n.EventID, n.Similarity
	}
	return numberedCandidates(ctx, pool, eventID, ids, sims)
}

// numberedCandidates reads an event and its candidates (ids, best first,
// with their similarities) and numbers the candidates that still exist.
func numberedCandidates(ctx context.Context, pool *pgxpool.Pool, eventID int64, ids []int64, sims []float64) (events.Event, []Candidate, error) {
	evs, err := events.ByIDs(ctx, pool, append([]int64{eventID}, ids...))
	if err != nil {
		return events.Event{}, nil, err
	}
	newEvent, ok := evs[eventID]
	if !ok {
		return events.Event{}, nil, fmt.Errorf("event %d vanished: %w", eventID, embeddings.ErrNoVector)
	}
	cands := make([]Candidate, 0, len(ids))
	for i, id := range ids {
		if ev, ok := evs[id]; ok {
			cands = append(cands, Candidate{Number: len(cands) + 1, Event: ev, Similarity: sims[i]})
		}
	}
	return newEvent, cands, nil
}

func candidateIDs(cands []Candidate) []int64 {
	ids := make([]int64, len(cands))
	for i, c := range cands {
		ids[i] = c.Event.ID
	}
	return ids
}

// toWrite turns a classifier's result into the relations to store,
// counting as invalid what fails the checks. The classifiers validate;
// this is the last line of defence before the database, since nothing
// invalid may ever be written.
func toWrite(result Result, newEvent events.Event, cands []Candidate) (Result, []written) {
	rels := make([]written, 0, len(result.Relations))
	numbered := map[int]bool{}
	for _, r := range result.Relations {
		if r.Number < 1 || r.Number > len(cands) || numbered[r.Number] || !r.Type.Valid() ||
			validConfidence(r.Confidence) != nil || r.Rationale == "" || cands[r.Number-1].Event.ID == newEvent.ID {
			result.Invalid++
			continue
		}
		numbered[r.Number] = true
		cand := cands[r.Number-1]
		rels = append(rels, written{Relation: r, priorID: cand.Event.ID, similarity: cand.Similarity})
	}
	return result, rels
}

// Package budget is the spending limit of one pass: chat tokens (in plus
// out) and US dollars, shared by every worker of the pass. Each chat call
// reserves its prompt and expected output first; a call that would cross
// a limit is refused, and so is every call after it, so the pass stops
// cleanly. Actual usage replaces a reservation once the call returns.
package budget

import (
	"fmt"
	"sync"

	"github.com/relator/relator/analyzer"
	"github.com/relator/relator/internal/price"
)

// Options are a pass's limits.
type Options struct {
	// MaxTokens caps chat tokens, prompt plus completion, as the server
	// reports them (reservations count the prompt as tokenized locally
	// plus the expected output). 0: no limit.
	MaxTokens int
	// MaxCost caps US dollars: chat calls at Chat's price plus whatever
	// Charge adds (the pass's embeddings). 0: no limit.
	MaxCost float64
	// Chat is the chat model's price; it must be known when MaxCost is set
	// (New's caller checks with price.Table.Lookup).
	Chat price.Price
}

// Budget implements analyzer.Budget. It is safe for concurrent use.
type Budget struct {
	opts Options

	mu      sync.Mutex
	tokens  int     // used and reserved
	cost    float64 // used and reserved
	refused bool
}

var _ analyzer.Budget = (*Budget)(nil)

// New returns a budget of opts, nothing spent.
func New(opts Options) *Budget { return &Budget{opts: opts} }

// Reserve implements analyzer.Budget.
func (b *Budget) Reserve(promptTokens, outputTokens int) (func(in, out int), error) {
	n, c := promptTokens+outputTokens, b.opts.Chat.Cost(promptTokens, outputTokens)
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.refused:
		return nil, fmt.Errorf("%w: an earlier call was refused", analyzer.ErrBudgetReached)
	case b.opts.MaxTokens > 0 && b.tokens+n > b.opts.MaxTokens:
		b.refused = true
		return nil, fmt.Errorf("%w: %d chat tokens used or reserved, this call needs about %d, the limit is %d",
			analyzer.ErrBudgetReached, b.tokens, n, b.opts.MaxTokens)
	case b.opts.MaxCost > 0 && b.cost+c > b.opts.MaxCost:
		b.refused = true
		return nil, fmt.Errorf("%w: %s spent or reserved, this call needs about %s, the limit is %s",
			analyzer.ErrBudgetReached, price.USD(b.cost), price.USD(c), price.USD(b.opts.MaxCost))
	}
	b.tokens += n
	b.cost += c
	var once sync.Once
	return func(in, out int) {
		once.Do(func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			b.tokens += in + out - n
			b.cost += b.opts.Chat.Cost(in, out) - c
		})
	}, nil
}

// Charge adds spending outside chat calls (embeddings) to the cost.
func (b *Budget) Charge(usd float64) {
	b.mu.Lock()
	b.cost += usd
	b.mu.Unlock()
}

// Exhausted implements analyzer.Budget.
func (b *Budget) Exhausted() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.refused
}

// Used returns the chat tokens and the cost used and reserved so far.
func (b *Budget) Used() (int, float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.tokens, b.cost
}

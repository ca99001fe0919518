package analyzer

import (
	"context"
	"errors"
)

// Budget is what one pass may spend on chat calls, shared by all its
// workers. The chat classifier asks it before every call, the repair call
// included; the offline classifier makes no calls and never asks.
type Budget interface {
	// Reserve sets aside a call's prompt tokens and its expected output.
	// It returns ErrBudgetReached, and the call is not made, when the
	// reservation would cross the budget; after that first refusal every
	// later one is refused too, so the pass ends rather than picking
	// smaller calls. Otherwise settle must be called once with the call's
	// actual usage (0, 0 when it failed), which replaces the reservation.
	Reserve(promptTokens, outputTokens int) (settle func(in, out int), err error)
	// Exhausted tells whether a reservation has been refused: the pass
	// makes no new claims.
	Exhausted() bool
}

// ErrBudgetReached is returned (wrapped) for a call the budget refused. The
// event it was for is handed back unanalysed and uncounted as an attempt:
// it stays pending for the next pass.
var ErrBudgetReached = errors.New("the next call would cross the pass's budget")

// ExpectedOutputTokens is the output a chat call is expected to write,
// what the budget reserves for it and estimates count: about two related
// candidates at ~100 tokens each and the JSON around them, as this
// repository's sample needs. The output cap (OpenAIOptions.MaxTokens) is
// what a call may write at most.
const ExpectedOutputTokens = 250

type budgetKey struct{}

// withBudget carries the pass's budget to the classifier's calls.
func withBudget(ctx context.Context, b Budget) context.Context {
	if b == nil {
		return ctx
	}
	return context.WithValue(ctx, budgetKey{}, b)
}

// reserve asks the context's budget, if any, for a call.
func reserve(ctx context.Context, promptTokens, outputTokens int) (func(in, out int), error) {
	b, ok := ctx.Value(budgetKey{}).(Budget)
	if !ok {
		return func(int, int) {}, nil
	}
	return b.Reserve(promptTokens, outputTokens)
}

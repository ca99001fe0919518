package budget_test

import (
	"errors"
	"math"
	"sync"
	"testing"

	"github.com/relator/relator/analyzer"
	"github.com/relator/relator/internal/budget"
	"github.com/relator/relator/internal/price"
)

// TestReservationsAndSettlement: reservations count until settled with
// the actual usage; the call that would cross the limit is refused, and
// every later one too, even a smaller one.
func TestReservationsAndSettlement(t *testing.T) {
	b := budget.New(budget.Options{MaxTokens: 1000})
	settle, err := b.Reserve(400, 100)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := b.Used(); n != 500 {
		t.Fatalf("reserved %d, want 500", n)
	}
	settle(300, 20)
	settle(300, 20) // once only
	if n, _ := b.Used(); n != 320 {
		t.Fatalf("after settling: %d, want 320", n)
	}
	if _, err := b.Reserve(600, 100); !errors.Is(err, analyzer.ErrBudgetReached) {
		t.Fatalf("a call crossing the limit: %v", err)
	}
	if !b.Exhausted() {
		t.Fatal("not exhausted after a refusal")
	}
	if _, err := b.Reserve(10, 10); !errors.Is(err, analyzer.ErrBudgetReached) {
		t.Fatalf("a call after a refusal: %v", err)
	}
	if n, _ := b.Used(); n != 320 {
		t.Fatalf("refusals reserved something: %d", n)
	}
}

func TestCostLimitCountsCharges(t *testing.T) {
	b := budget.New(budget.Options{MaxCost: 0.01, Chat: price.Price{Input: 1, Output: 4}}) // $ per 1M
	b.Charge(0.005)
	if _, err := b.Reserve(4000, 250); err != nil { // $0.005
		t.Fatal(err)
	}
	if _, c := b.Used(); math.Abs(c-0.01) > 1e-12 {
		t.Fatalf("cost %v, want 0.01", c)
	}
	if _, err := b.Reserve(1, 0); !errors.Is(err, analyzer.ErrBudgetReached) {
		t.Fatalf("over the cost: %v", err)
	}
}

// TestConcurrentWorkersShareIt: many workers reserving at once never
// reserve past the limit together.
func TestConcurrentWorkersShareIt(t *testing.T) {
	b := budget.New(budget.Options{MaxTokens: 10_000})
	var wg sync.WaitGroup
	var mu sync.Mutex
	granted := 0
	for range 64 {
		wg.Go(func() {
			if _, err := b.Reserve(900, 100); err == nil {
				mu.Lock()
				granted++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if granted != 10 {
		t.Fatalf("%d calls granted, want 10", granted)
	}
}

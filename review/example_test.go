package review_test

import (
	"errors"
	"fmt"

	"github.com/relator/relator/review"
)

// The database's refusals of a decision come back as *RuleError: the
// message and hint as PostgreSQL sent them, and errors.Is tells a conflict
// (another reviewer decided first) from a change review does not allow.
func ExampleRuleError() {
	err := fmt.Errorf("%w; nothing was changed", &review.RuleError{Code: "RV001",
		Message: "relation 42 is already approved (by ana at 2015-09-21 10:02:11 UTC): a decision is final",
		Hint:    "relation_audit has its history"})
	fmt.Println(errors.Is(err, review.ErrDecided), errors.Is(err, review.ErrNoteNeeded))
	fmt.Println(err)
	// Output:
	// true false
	// relation 42 is already approved (by ana at 2015-09-21 10:02:11 UTC): a decision is final (relation_audit has its history); nothing was changed
}

package analyzer

import (
	"github.com/relator/relator/events"
	"github.com/relator/relator/prompts"
)

var _ Prompter = (*OpenAI)(nil)

// PromptTokens implements Prompter: the first call's prompt for newEvent
// and candidates, fitted to the PromptBudget as Classify fits it, counted
// with the model's tokenizer, the response schema included.
func (o *OpenAI) PromptTokens(newEvent events.Event, candidates []Candidate) (int, error) {
	if len(candidates) == 0 {
		return 0, nil
	}
	_, fitted, err := prompts.Fit(o.input(newEvent, candidates), prompts.Budget{Model: o.model, Tokens: o.budget,
		Reserved: o.schemaTokens, SystemTokens: o.systemTokens})
	if err != nil {
		return 0, err
	}
	return fitted.Tokens, nil
}

// Package price turns token counts into US dollars: a table of per-model
// list prices, per one million tokens, input and output, with dated
// defaults for OpenAI's common chat and embedding models, overridable from
// a file or per model.
//
// A model the table does not know has an unknown cost, never a cost of 0:
// Lookup says so, and callers print that rather than a figure. Models of
// relator's offline providers ("offline-…") cost 0.
package price

import (
	"fmt"
	"slices"
	"strings"
)

// Price is a model's list price in US dollars per one million tokens.
type Price struct {
	Input  float64 `json:"input"`  // per 1M prompt (input) tokens
	Output float64 `json:"output"` // per 1M completion (output) tokens; 0 for embedding models
}

// Cost is what in input and out output tokens cost at p, in US dollars.
func (p Price) Cost(in, out int) float64 {
	return (float64(in)*p.Input + float64(out)*p.Output) / 1e6
}

// AsOf is when the default prices were taken: OpenAI's list prices
// (standard tier, no batch or cached-input discounts) as OpenAI's pricing
// page showed them in March 2026. Prices change; RELATOR_PRICES,
// RELATOR_PRICE_IN and RELATOR_PRICE_OUT override them.
const AsOf = "2026-03"

// defaults are the list prices of AsOf, per 1M tokens.
var defaults = map[string]Price{
	"gpt-4o":                 {2.50, 10.00},
	"gpt-4o-mini":            {0.15, 0.60},
	"gpt-4.1":                {2.00, 8.00},
	"gpt-4.1-mini":           {0.40, 1.60},
	"gpt-4.1-nano":           {0.10, 0.40},
	"gpt-5":                  {1.25, 10.00},
	"gpt-5.1":                {1.25, 10.00},
	"gpt-5-mini":             {0.25, 2.00},
	"gpt-5-nano":             {0.05, 0.40},
	"o1":                     {15.00, 60.00},
	"o1-mini":                {1.10, 4.40},
	"o3":                     {2.00, 8.00},
	"o3-mini":                {1.10, 4.40},
	"o4-mini":                {1.10, 4.40},
	"text-embedding-3-small": {0.02, 0},
	"text-embedding-3-large": {0.13, 0},
	"text-embedding-ada-002": {0.10, 0},
}

// Table is a price per model. The zero Table knows no model but the
// offline ones; use Defaults.
type Table struct {
	prices map[string]Price
}

// Defaults is the table of AsOf's list prices.
func Defaults() Table {
	t := Table{prices: make(map[string]Price, len(defaults))}
	for m, p := range defaults {
		t.prices[m] = p
	}
	return t
}

// With returns a copy of t with model priced at p.
func (t Table) With(model string, p Price) Table {
	out := Table{prices: make(map[string]Price, len(t.prices)+1)}
	for m, q := range t.prices {
		out.prices[m] = q
	}
	out.prices[normal(model)] = p
	return out
}

// Models lists the models t prices, sorted.
func (t Table) Models() []string {
	out := make([]string, 0, len(t.prices))
	for m := range t.prices {
		out = append(out, m)
	}
	slices.Sort(out)
	return out
}

// Lookup returns model's price and whether it is known. A dated snapshot
// ("gpt-4o-2024-08-06"), a fine-tune ("ft:gpt-4o-mini:org::id"), a
// router's name ("openai/gpt-4o") and an embedding model with shortened
// vectors ("text-embedding-3-small@512") are priced as their base model unless the
// table names them; offline models cost 0.
func (t Table) Lookup(model string) (Price, bool) {
	m := normal(model)
	if strings.HasPrefix(m, "offline-") {
		return Price{}, true
	}
	if p, ok := t.prices[m]; ok {
		return p, true
	}
	m = strings.TrimPrefix(m, "ft:")
	if i := strings.LastIndexByte(m, '@'); i > 0 { // relator's "model@dimensions": priced per token all the same
		m = m[:i]
	}
	if i := strings.IndexByte(m, ':'); i >= 0 {
		m = m[:i]
	}
	m = m[strings.LastIndexByte(m, '/')+1:]
	if p, ok := t.prices[m]; ok {
		return p, true
	}
	if base, ok := undated(m); ok {
		if p, ok := t.prices[base]; ok {
			return p, true
		}
	}
	return Price{}, false
}

// undated strips a snapshot's date suffix: "-2024-08-06" or "-0613".
func undated(m string) (string, bool) {
	if n := len(m); n > 11 && m[n-11] == '-' && digitsDashes(m[n-10:], "dddd-dd-dd") {
		return m[:n-11], true
	}
	if n := len(m); n > 5 && m[n-5] == '-' && digitsDashes(m[n-4:], "dddd") {
		return m[:n-5], true
	}
	return "", false
}

func digitsDashes(s, pattern string) bool {
	if len(s) != len(pattern) {
		return false
	}
	for i := range len(s) {
		if pattern[i] == 'd' && (s[i] < '0' || s[i] > '9') || pattern[i] == '-' && s[i] != '-' {
			return false
		}
	}
	return true
}

func normal(model string) string { return strings.ToLower(strings.TrimSpace(model)) }

// Unknown is the sentence printed for a cost that cannot be known: the
// model has no price, and how to give it one.
func Unknown(model string) string {
	return fmt.Sprintf("cost unknown (no price for %s; set RELATOR_PRICES=FILE or RELATOR_PRICE_IN/RELATOR_PRICE_OUT)", model)
}

// USD formats a cost in dollars, with enough digits for small passes.
func USD(v float64) string {
	switch {
	case v == 0:
		return "$0"
	case v < 0.01:
		return fmt.Sprintf("$%.6f", v)
	default:
		return fmt.Sprintf("$%.4f", v)
	}
}

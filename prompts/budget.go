package prompts

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/relator/relator/internal/tokens"
)

// Budget bounds the tokens of a prompt.
type Budget struct {
	// Model is the chat model whose tokenizer counts (internal/tokens:
	// o200k_base for the gpt-4o, gpt-4.1, gpt-5 and o-series families,
	// cl100k_base otherwise).
	Model string
	// Tokens is the most the prompt may take: both messages with their
	// chat framing, plus Reserved. 0 or less: no budget.
	Tokens int
	// Reserved is what the request adds to its messages, such as the
	// response format's JSON schema; it is counted against Tokens.
	Reserved int
	// SystemTokens, when positive, is what the prompt takes besides the
	// user message's text: the system message, both messages' framing and
	// the reply's primer, i.e. SystemTokens(Model, Types). It is the same
	// for every call that shares a taxonomy, so a caller making many
	// counts it once; counting takes milliseconds. 0: Fit counts it.
	SystemTokens int
	// Counter, when set, counts the user message (it must count Model's
	// encoding). It remembers the lines it counted, so a caller fitting
	// many prompts over the same events keeps one and passes it each time:
	// counting is most of what fitting a prompt costs. Nil: counted afresh.
	Counter *tokens.Counter
}

// SystemTokens counts, for model, what a prompt of the taxonomy types takes
// besides its user message's text (see Budget.SystemTokens).
func SystemTokens(model string, types []RelationType) (int, error) {
	p, err := Render(Input{Candidates: []Candidate{{Number: 1}}, Types: types})
	if err != nil {
		return 0, err
	}
	return systemTokens(model, p.System)
}

func systemTokens(model, system string) (int, error) {
	return tokens.Chat(model, tokens.Message{Role: "system", Content: system}, tokens.Message{Role: "user"})
}

// Fitted tells what Fit rendered.
type Fitted struct {
	// Tokens is the prompt's tokens, Reserved included.
	Tokens int
	// Candidates is how many candidates the prompt shows: the input's
	// first so many, numbered 1..Candidates as before, so that a reply's
	// "event" numbers mean the same candidates as they would unfitted.
	Candidates int
	// Limits are the limits the prompt was rendered with; fields below
	// DefaultLimits() were shortened.
	Limits Limits
}

// Shortened is whether Fit cut any field shorter than its default limit.
func (f Fitted) Shortened() bool { return f.Limits != DefaultLimits() }

// ErrOverBudget is returned by Fit when even the shortest prompt it can
// make — one candidate, every field at its floor — is over the budget.
var ErrOverBudget = errors.New("prompts: over the token budget")

// Floors: how short Fit cuts each field before it drops candidates. The
// New Event keeps the most: it is what every candidate is judged against.
const (
	FloorNewContent = 500
	FloorNewSummary = 400
	FloorNewTitle   = 200
	FloorSummary    = 200
	FloorTitle      = 100
	FloorActors     = 5
)

// Tokens counts a rendered prompt's tokens for model: both messages with
// the chat framing, as the chat API bills plain text messages.
func Tokens(model string, p Prompt) (int, error) {
	return tokens.Chat(model, tokens.Message{Role: "system", Content: p.System}, tokens.Message{Role: "user", Content: p.User})
}

// Fit renders in within b. A prompt over budget is first shortened, the
// longest fields first — the New Event's content, then the candidates'
// summaries, the New Event's summary, the candidates' actor lists, their
// titles, the New Event's title — each as little as will do and no
// further than its floor; if that is not enough, the lowest-ranked
// candidates (the last) are dropped, as few as will do, and the fields of
// those kept are shortened again from their defaults. A prompt within
// budget is exactly Render's.
func Fit(in Input, b Budget) (Prompt, Fitted, error) {
	p, err := Render(in)
	if err != nil {
		return Prompt{}, Fitted{}, err
	}
	in.Limits = in.Limits.orDefaults()
	fixed := b.SystemTokens
	if fixed <= 0 {
		if fixed, err = systemTokens(b.Model, p.System); err != nil {
			return Prompt{}, Fitted{}, err
		}
	}
	f := fitter{in: clipped(in), b: b, fixed: fixed + b.Reserved, system: p.System}
	n, err := f.count(p.User)
	if err != nil {
		return Prompt{}, Fitted{}, err
	}
	if b.Tokens <= 0 || n <= b.Tokens {
		return p, Fitted{Tokens: n, Candidates: len(in.Candidates), Limits: in.Limits}, nil
	}
	user, n, err := f.shorten(f.in, p.User, n)
	if err != nil || n <= b.Tokens {
		return Prompt{System: p.System, User: user}, Fitted{Tokens: n, Candidates: len(f.in.Candidates), Limits: f.in.Limits}, err
	}

	// Too long even with every field at its floor: find how many
	// candidates fit at the floors, then shorten only as far as they need.
	k, err := f.candidatesAtFloors(n)
	if err != nil {
		return Prompt{}, Fitted{}, err
	}
	kept := f.in
	kept.Candidates = kept.Candidates[:k]
	kept.Limits = in.Limits
	if user, err = renderUser(kept); err != nil {
		return Prompt{}, Fitted{}, err
	}
	if n, err = f.count(user); err != nil {
		return Prompt{}, Fitted{}, err
	}
	user, n, err = f.shorten(kept, user, n)
	if err == nil && n > b.Tokens {
		err = fmt.Errorf("%w: %d tokens of %d after fitting", ErrOverBudget, n, b.Tokens) // cannot happen: k fits at the floors
	}
	return Prompt{System: p.System, User: user}, Fitted{Tokens: n, Candidates: k, Limits: f.in.Limits}, err
}

// fitter shortens one prompt. in is the input being fitted; shorten leaves
// the limits it settled on in it.
type fitter struct {
	in     Input
	b      Budget
	fixed  int // tokens of everything but the user message's content
	system string
}

func (f *fitter) count(user string) (int, error) {
	if f.b.Counter != nil {
		return f.fixed + f.b.Counter.Count(user), nil
	}
	n, err := tokens.Count(f.b.Model, user)
	return f.fixed + n, err
}

// clipped is in with every text already normalised and cut to its default
// limit, so that fitting, which renders again and again, never handles
// more of an event than the model could be shown. Cutting twice gives what
// cutting once does, so the rendered prompt is the same.
func clipped(in Input) Input {
	d := DefaultLimits()
	clip := func(e Event, content bool) Event {
		e.Title = truncate(singleLine(e.Title), d.Title)
		e.Summary = truncate(paragraphs(e.Summary), d.Summary)
		e.Content = ""
		if content {
			e.Content = truncate(paragraphs(in.NewEvent.Content), d.NewContent)
		}
		return e
	}
	out := in
	out.NewEvent = clip(in.NewEvent, true)
	out.Candidates = make([]Candidate, len(in.Candidates))
	for i, c := range in.Candidates {
		out.Candidates[i] = Candidate{Number: c.Number, Event: clip(c.Event, false)}
	}
	return out
}

// stage is one field that shorten cuts: the limit, its floor, and how many
// runes (for actors: runes of names) the prompt shows of it at a limit.
type stage struct {
	limit *int
	floor int
	shown func(limit int) int
}

func (f *fitter) stages(in *Input) []stage {
	runes := func(texts func(yield func(string)), limit int) int {
		n := 0
		texts(func(s string) { n += min(utf8.RuneCountInString(s), limit) })
		return n
	}
	newEvent := func(field func(Event) string) func(int) int {
		return func(limit int) int { return runes(func(y func(string)) { y(field(in.NewEvent)) }, limit) }
	}
	candidates := func(field func(Event) string) func(int) int {
		return func(limit int) int {
			return runes(func(y func(string)) {
				for _, c := range in.Candidates {
					y(field(c.Event))
				}
			}, limit)
		}
	}
	actors := func(limit int) int {
		n := 0
		for _, c := range in.Candidates {
			for _, a := range c.Event.Actors[:min(limit, len(c.Event.Actors))] {
				n += min(utf8.RuneCountInString(a), MaxActorRunes)
			}
		}
		return n
	}
	l := &in.Limits
	return []stage{
		{&l.NewContent, FloorNewContent, newEvent(func(e Event) string { return e.Content })},
		{&l.Summary, FloorSummary, candidates(func(e Event) string { return e.Summary })},
		{&l.NewSummary, FloorNewSummary, newEvent(func(e Event) string { return e.Summary })},
		{&l.Actors, FloorActors, actors},
		{&l.Title, FloorTitle, candidates(func(e Event) string { return e.Title })},
		{&l.NewTitle, FloorNewTitle, newEvent(func(e Event) string { return e.Title })},
	}
}

// shorten cuts in's fields, stage by stage, until the prompt is within
// budget or every field is at its floor; user and n are the prompt's user
// message and tokens at in's limits. It leaves the limits in f.in.
func (f *fitter) shorten(in Input, user string, n int) (string, int, error) {
	f.in = in
	if n <= f.b.Tokens {
		return user, n, nil
	}
	// Tokens per rune of this prompt's text: the first estimate of what a
	// cut saves.
	perRune := float64(n-f.fixed) / float64(max(utf8.RuneCountInString(user), 1))
	for _, s := range f.stages(&f.in) {
		for tries := 0; *s.limit > s.floor && n > f.b.Tokens; tries++ {
			cur := s.shown(*s.limit)
			next := s.floor
			if tries < 6 {
				// Cut what the excess is worth, and a tenth more, so that
				// one render usually does.
				target := cur - int(float64(n-f.b.Tokens)*1.1/max(perRune, 0.05)) - 1
				next = largestWithin(s, target)
			}
			if s.shown(next) >= cur {
				*s.limit = next // nothing of the prompt changes
				continue
			}
			*s.limit = next
			u, err := renderUser(f.in)
			if err != nil {
				return "", 0, err
			}
			m, err := f.count(u)
			if err != nil {
				return "", 0, err
			}
			if saved := cur - s.shown(next); m < n && saved > 0 {
				perRune = float64(n-m) / float64(saved)
			}
			user, n = u, m
		}
		if n <= f.b.Tokens {
			break
		}
	}
	return user, n, nil
}

// largestWithin is the largest limit from s's floor to one below its
// current limit at which s shows at most target runes, or the floor.
func largestWithin(s stage, target int) int {
	lo, hi := s.floor, *s.limit-1 // the answer is in [lo, hi], or lo
	if hi < lo || s.shown(lo) > target {
		return s.floor
	}
	for lo < hi {
		mid := lo + (hi-lo+1)/2
		if s.shown(mid) <= target {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

// candidatesAtFloors returns the most candidates, from the first, whose
// prompt fits the budget with every field at its floor; n is the tokens of
// all of them at the floors.
func (f *fitter) candidatesAtFloors(n int) (int, error) {
	floors := f.in
	floors.Limits = Limits{NewTitle: FloorNewTitle, NewSummary: FloorNewSummary, NewContent: FloorNewContent,
		Title: FloorTitle, Summary: FloorSummary, Actors: FloorActors}
	at := func(k int) (int, error) {
		in := floors
		in.Candidates = floors.Candidates[:k]
		u, err := renderUser(in)
		if err != nil {
			return 0, err
		}
		return f.count(u)
	}
	all := len(floors.Candidates)
	one, err := at(1)
	if err != nil {
		return 0, err
	}
	if one > f.b.Tokens {
		return 0, fmt.Errorf("%w: the shortest prompt (one candidate, every field at its floor) takes %d tokens of %d", ErrOverBudget, one, f.b.Tokens)
	}
	if all == 1 {
		return 1, nil
	}
	// Candidates cost about the same each: start from the estimate, then
	// step to the largest k that fits.
	per := float64(n-one) / float64(all-1)
	k := min(all-1, 1+int(float64(f.b.Tokens-one)/max(per, 1)))
	m, err := at(k)
	for err == nil && m > f.b.Tokens && k > 1 {
		k--
		m, err = at(k)
	}
	for err == nil && k+1 < all {
		if m, err = at(k + 1); err != nil || m > f.b.Tokens {
			break
		}
		k++
	}
	return k, err
}

// Package prompts renders the chat messages with which a language model is
// asked how a New Event relates to its K nearest prior events.
//
// One call carries one New Event and its numbered candidates ("Event 1" …
// "Event K"). [Render] returns the system message (the analyst's task, the
// relation taxonomy, how to judge relatedness, confidence, the rationale
// style and the JSON output format) and the user message (the events as
// delimited data). [Repair] returns the follow-up user message sent after an
// unusable reply. [Version] identifies the prompt wording; it changes
// whenever a template changes and is stored with every relation written.
//
// The templates are embedded files (system.tmpl, user.tmpl, repair.tmpl)
// executed with text/template. Rendering is deterministic: the same Input
// always gives the same Prompt. The system message depends only on
// Input.Types, so it is identical across calls that share a taxonomy (which
// lets servers with prompt caching reuse it).
//
// Event text is untrusted. Each event is wrapped in <new_event> or
// <event number="N"> tags; every '&', '<' and '>' in event text is escaped
// as "&amp;", "&lt;" and "&gt;", so no text can close or forge a delimiter
// nor pass for an escape; every field starts on a line of its own with its
// label ("Date: ", "Summary: " …), and every further line of a field's text
// is indented by two spaces, so no text can forge a field of its own event
// either; and the system message tells the model that tagged text is data,
// never instructions.
//
// This package deliberately knows nothing of the analyzer's types (the
// analyzer imports it); callers convert their events and taxonomy into
// [Input].
package prompts

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"unicode"
	"unicode/utf8"
)

// Limits on how much of an event is shown to the model, in runes. Longer text
// is cut at a rune boundary and ends with "…".
const (
	MaxTitleRunes   = 300
	MaxSummaryRunes = 1000
	MaxContentRunes = 2000 // the New Event's content; candidates' content is not shown
	MaxActorRunes   = 100  // one actor's name
	MaxActors       = 20   // further actors are summarised as "and N more"
	MaxProblems     = 20   // Repair lists at most this many problems
	MaxProblemRunes = 300  // one problem, as listed by Repair
)

// renderRevision is the "v1" in Version. Bump it when the Go side of the
// rendering changes what the model sees (limits, escaping, normalisation)
// without any template changing.
const renderRevision = 2

// Event is one event as shown to the model. Empty fields are omitted.
type Event struct {
	Date    string // YYYY-MM-DD
	Title   string
	Summary string
	Content string // shown for the New Event only
	Actors  []string
}

// Candidate is one retrieved prior event, shown as "Event <Number>".
type Candidate struct {
	Number int
	Event  Event
}

// RelationType is one entry of the relation taxonomy.
type RelationType struct {
	Name        string // e.g. "continuation"; lower-case letters, digits and '_'
	Description string
}

// Input is everything one classification call is rendered from.
type Input struct {
	NewEvent   Event
	Candidates []Candidate // numbered 1..K, in that order
	Types      []RelationType
	// Limits shorten the events' text further than the defaults
	// (MaxTitleRunes …); Fit sets them to bring a prompt within a budget.
	// The zero value is the defaults.
	Limits Limits
}

// Limits are how much of each event field the model is shown: runes of
// text, and actors listed per candidate. A zero field is its default.
type Limits struct {
	NewTitle, NewSummary, NewContent int // the New Event's
	Title, Summary                   int // each candidate's
	Actors                           int // each candidate's actors listed; the rest are "and N more"
}

// DefaultLimits are the limits of a zero Limits.
func DefaultLimits() Limits {
	return Limits{NewTitle: MaxTitleRunes, NewSummary: MaxSummaryRunes, NewContent: MaxContentRunes,
		Title: MaxTitleRunes, Summary: MaxSummaryRunes, Actors: MaxActors}
}

// orDefaults fills l's zero (or out of range) fields with the defaults:
// limits only ever shorten.
func (l Limits) orDefaults() Limits {
	d := DefaultLimits()
	fill := func(v *int, def int) {
		if *v <= 0 || *v > def {
			*v = def
		}
	}
	fill(&l.NewTitle, d.NewTitle)
	fill(&l.NewSummary, d.NewSummary)
	fill(&l.NewContent, d.NewContent)
	fill(&l.Title, d.Title)
	fill(&l.Summary, d.Summary)
	fill(&l.Actors, d.Actors)
	return l
}

// Prompt is the pair of chat messages for one call.
type Prompt struct {
	System string
	User   string
}

//go:embed system.tmpl user.tmpl repair.tmpl
var templateFS embed.FS

// Both are set once at package initialisation and never modified.
var (
	templates = template.Must(template.New("prompts").Option("missingkey=error").ParseFS(templateFS, "*.tmpl"))
	version   = mustVersion(templateFS)
)

// Version identifies the prompt wording: "v1-" followed by the first 10 hex
// digits of a SHA-256 over the template files' names and contents. It is
// the same for the life of the binary and changes whenever a template does.
func Version() string { return version }

func mustVersion(fsys fs.FS) string {
	v, err := versionOf(fsys)
	if err != nil {
		panic(err)
	}
	return v
}

// versionOf hashes every *.tmpl file at the root of fsys, in name order,
// each as its length-prefixed name and length-prefixed content.
func versionOf(fsys fs.FS) (string, error) {
	names, err := fs.Glob(fsys, "*.tmpl")
	if err != nil {
		return "", err
	}
	if len(names) == 0 {
		return "", errors.New("prompts: no *.tmpl files to hash")
	}
	slices.Sort(names)
	h := sha256.New()
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%d:%s\n%d:", len(name), name, len(data))
		h.Write(data)
	}
	return fmt.Sprintf("v%d-%s", renderRevision, hex.EncodeToString(h.Sum(nil))[:10]), nil
}

var typeNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Render validates in and renders the system and user messages for it. It
// fails if there are no candidates, if the candidates are not numbered 1..K
// in order, or if the taxonomy is empty or has an invalid or repeated name.
func Render(in Input) (Prompt, error) {
	if len(in.Candidates) == 0 {
		return Prompt{}, errors.New("prompts: no candidates")
	}
	for i, c := range in.Candidates {
		if c.Number != i+1 {
			return Prompt{}, fmt.Errorf("prompts: candidate %d has number %d; candidates must be numbered 1..%d in order", i+1, c.Number, len(in.Candidates))
		}
	}
	if len(in.Types) == 0 {
		return Prompt{}, errors.New("prompts: no relation types")
	}
	seen := make(map[string]bool, len(in.Types))
	for _, t := range in.Types {
		if !typeNameRE.MatchString(t.Name) {
			return Prompt{}, fmt.Errorf("prompts: invalid relation type name %q", t.Name)
		}
		if seen[t.Name] {
			return Prompt{}, fmt.Errorf("prompts: relation type %q listed twice", t.Name)
		}
		seen[t.Name] = true
	}

	sys, err := execute("system.tmpl", systemView(in.Types))
	if err != nil {
		return Prompt{}, err
	}
	user, err := renderUser(in)
	if err != nil {
		return Prompt{}, err
	}
	return Prompt{System: sys, User: user}, nil
}

// renderUser renders the user message of a validated in.
func renderUser(in Input) (string, error) {
	l := in.Limits.orDefaults()
	uv := userView{NewEvent: eventView(in.NewEvent, fieldLimits{l.NewTitle, l.NewSummary, l.NewContent, MaxActors}), K: len(in.Candidates)}
	for _, c := range in.Candidates {
		uv.Candidates = append(uv.Candidates, numberedView{Number: c.Number, eventFields: eventView(c.Event, fieldLimits{l.Title, l.Summary, 0, l.Actors})})
	}
	return execute("user.tmpl", uv)
}

// Repair renders the follow-up user message sent after a reply that could
// not be used: it lists the problems, one per line, and asks again for the
// complete corrected JSON object. It fails if problems has no non-blank
// entry.
func Repair(problems []string) (string, error) {
	var v repairView
	for _, p := range problems {
		p = truncate(singleLine(p), MaxProblemRunes)
		if p == "" {
			continue
		}
		if len(v.Problems) == MaxProblems {
			v.More++
			continue
		}
		v.Problems = append(v.Problems, p)
	}
	if len(v.Problems) == 0 {
		return "", errors.New("prompts: no problems to repair")
	}
	return execute("repair.tmpl", v)
}

func execute(name string, data any) (string, error) {
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, name, data); err != nil {
		return "", fmt.Errorf("prompts: %s: %w", name, err)
	}
	return b.String(), nil
}

// Views: what the templates see. All text in an eventFields is normalised,
// truncated and escaped.

type sysView struct {
	Types       []RelationType
	TypeNames   string // `"causes", "continuation", …`
	ExampleType string
}

type eventFields struct {
	Date, Title, Summary, Content string
	Actors                        string // "A; B; and 3 more"
}

type numberedView struct {
	Number int
	eventFields
}

type userView struct {
	NewEvent   eventFields
	Candidates []numberedView
	K          int
}

type repairView struct {
	Problems []string
	More     int
}

func systemView(types []RelationType) sysView {
	v := sysView{ExampleType: types[0].Name}
	names := make([]string, len(types))
	for i, t := range types {
		names[i] = strconv.Quote(t.Name)
		v.Types = append(v.Types, RelationType{Name: t.Name, Description: singleLine(t.Description)})
	}
	v.TypeNames = strings.Join(names, ", ")
	return v
}

// fieldLimits are one event's limits; content 0 leaves the content out.
type fieldLimits struct{ title, summary, content, actors int }

func eventView(e Event, l fieldLimits) eventFields {
	v := eventFields{
		Date:    escape(truncate(singleLine(e.Date), 40)),
		Title:   escape(truncate(singleLine(e.Title), l.title)),
		Summary: indent(escape(truncate(paragraphs(e.Summary), l.summary))),
	}
	if l.content > 0 {
		v.Content = indent(escape(truncate(paragraphs(e.Content), l.content)))
	}
	var actors []string
	more := 0
	for _, a := range e.Actors {
		a = escape(truncate(singleLine(a), MaxActorRunes))
		if a == "" {
			continue
		}
		if len(actors) == l.actors {
			more++
			continue
		}
		actors = append(actors, a)
	}
	if more > 0 {
		actors = append(actors, fmt.Sprintf("and %d more", more))
	}
	v.Actors = strings.Join(actors, "; ")
	return v
}

// escape neutralises '&', '<' and '>' so that event text cannot close or
// open a delimiter tag, nor write "&lt;" that would read as an escaped '<'.
var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func escape(s string) string { return escaper.Replace(s) }

// indent indents every line of s after the first by two spaces (blank
// lines stay blank), so that only the template writes a line that starts
// with a field's label: "Date: …" in a summary's second paragraph reads
// "  Date: …", a part of the summary.
func indent(s string) string {
	lines := strings.Split(s, "\n")
	for i := 1; i < len(lines); i++ {
		if lines[i] != "" {
			lines[i] = "  " + lines[i]
		}
	}
	return strings.Join(lines, "\n")
}

// singleLine makes s valid UTF-8, drops control characters and collapses all
// whitespace, line breaks included, into single spaces.
func singleLine(s string) string {
	return strings.Join(strings.Fields(clean(s)), " ")
}

// paragraphs is singleLine for each line, keeping at most one blank line
// between paragraphs and none at either end.
func paragraphs(s string) string {
	var out []string
	blank := false
	for _, line := range strings.Split(clean(s), "\n") {
		line = strings.Join(strings.Fields(line), " ")
		if line == "" {
			blank = len(out) > 0
			continue
		}
		if blank {
			out = append(out, "")
			blank = false
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

// clean makes s valid UTF-8 with "\n" line ends, tabs as spaces and no other
// control characters.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n':
			return r
		case r == '\r', r == '\u2028', r == '\u2029':
			return '\n'
		case r == '\t':
			return ' '
		case unicode.IsControl(r), r == '\uFEFF':
			return -1
		}
		return r
	}, s)
}

// truncate shortens s to at most limit runes, cutting at a rune boundary
// and ending with "…" when anything was cut.
func truncate(s string, limit int) string {
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	n := 0
	for i := range s {
		if n == limit-1 {
			return strings.TrimRightFunc(s[:i], unicode.IsSpace) + "…"
		}
		n++
	}
	return s
}

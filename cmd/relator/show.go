package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/relator/relator/analyzer"
	"github.com/relator/relator/events"
	"github.com/relator/relator/internal/calllog"
	"github.com/relator/relator/internal/db"
	"github.com/relator/relator/internal/textfeat"
)

func showCmd(fs *flag.FlagSet) func(context.Context, invocation) error {
	most := fs.Bool("most-related", false, "show the event with the most relations instead of EVENT_ID")
	raw := fs.Bool("raw", false, "also print the model's raw answers of the event's latest analysis, from the model call log")
	return func(ctx context.Context, inv invocation) error {
		if (*most && len(inv.args) != 0) || (!*most && len(inv.args) != 1) {
			return usageError{"show takes one EVENT_ID (the event's source id), or --most-related"}
		}
		pool, err := db.Open(ctx, inv.cfg.DatabaseURL)
		if err != nil {
			return err
		}
		defer pool.Close()
		id := ""
		if *most {
			if id, err = analyzer.MostRelated(ctx, pool); err != nil {
				return err
			}
		} else {
			id = inv.args[0]
		}
		ev, err := events.BySourceID(ctx, pool, id)
		if err != nil {
			return err
		}
		rels, err := analyzer.Of(ctx, pool, ev.ID)
		if err != nil {
			return err
		}
		ids := []int64{ev.ID}
		for _, r := range rels {
			ids = append(ids, r.NewEventID, r.PriorEventID)
		}
		others, err := events.ByIDs(ctx, pool, ids)
		if err != nil {
			return err
		}
		answers := ""
		if *raw {
			if answers, err = rawAnswers(ctx, pool, ev.ID); err != nil {
				return err
			}
		}
		printEvent(inv.stdout, ev, rels, others, answers)
		return nil
	}
}

// rawAnswers is the "Model Answers" section of `relator show --raw`: the
// chat calls of the event's latest analysis as the call log has them.
func rawAnswers(ctx context.Context, pool *pgxpool.Pool, eventID int64) (string, error) {
	a, ok, err := analyzer.LatestAnalysis(ctx, pool, eventID)
	if err != nil || !ok {
		return "Model Answers\nnot analysed yet\n", err
	}
	head := fmt.Sprintf("Model Answers (%s, prompt %s, %s", a.Model, a.PromptVersion, a.Status)
	if a.AnalysedAt != nil {
		head += " " + a.AnalysedAt.UTC().Format("2006-01-02 15:04:05 MST")
	}
	head += fmt.Sprintf("; %d calls made, %d answers reused)\n", a.Calls, a.Reused)
	if a.Offline() {
		return head + "offline classifier: no model call; its rationales are its whole answer\n", nil
	}
	calls, err := calllog.Of(ctx, pool, calllog.Analysis{EventID: eventID, EventHash: a.EventHash, Model: a.Model,
		PromptVersion: a.PromptVersion}, time.Time{})
	if err != nil {
		return "", err
	}
	if len(calls) == 0 {
		return head + "no model call is recorded for this analysis (it had no candidates, or ran before relator kept a call log)\n", nil
	}
	return head + calllog.Render(calls), nil
}

// printEvent prints an event the way the seed shows one — headline,
// Summary, Full Content, Sources (N), Actor Responses, Related Events (N),
// each section only when it has something to show — as a reviewer reads
// it: the relations' review state, decisions first, rationales as written,
// and a closing summary line. Superseded relations (of the event's earlier
// content) are counted, not shown.
//
// answers, when not empty, is printed before the summary line (show --raw).
func printEvent(w io.Writer, ev events.Event, rels []analyzer.Stored, byID map[int64]events.Event, answers string) {
	fmt.Fprintln(w, ev.Headline())
	fmt.Fprintf(w, "%s · %s\n", ev.SourceID, ev.OccurredAt.Format("2006-01-02 15:04 MST"))
	if ev.Summary != "" {
		fmt.Fprintf(w, "Summary\n%s\n", ev.Summary)
	}
	if ev.Content != "" {
		fmt.Fprintf(w, "Full Content\n%s\n", ev.Content)
	}
	if len(ev.Sources) > 0 {
		fmt.Fprintf(w, "Sources (%d)\n", len(ev.Sources))
		for _, s := range ev.Sources {
			if s.Title != "" {
				fmt.Fprintf(w, "%s — %s\n", s.Title, s.URL)
			} else {
				fmt.Fprintln(w, s.URL)
			}
		}
	}
	if len(ev.Actors) > 0 {
		fmt.Fprintln(w, "Actor Responses")
		var silent []string
		for _, a := range ev.Actors {
			if a.Response != "" {
				fmt.Fprintf(w, "%s: %s\n", a.Name, a.Response)
			} else {
				silent = append(silent, a.Name)
			}
		}
		if len(silent) > 0 {
			fmt.Fprintf(w, "(no response recorded: %s)\n", strings.Join(silent, "; "))
		}
	}
	shown := slices.DeleteFunc(slices.Clone(rels), func(r analyzer.Stored) bool { return r.Status == "superseded" })
	if len(shown) > 0 {
		fmt.Fprintf(w, "Related Events (%d)\n", len(shown))
	}
	counts := map[string]int{}
	for _, r := range rels {
		counts[r.Status]++
	}
	for _, r := range shown {
		newEv, prior := byID[r.NewEventID], byID[r.PriorEventID]
		direction := "earlier event → this event"
		if r.PriorEventID == ev.ID {
			direction = "this event → later event"
		}
		fmt.Fprintf(w, "[%s] %s, confidence %.2f · %s · %s, prompt %s\n", reviewState(r), r.Type, r.Confidence, direction, r.Model, r.PromptVersion)
		fmt.Fprintln(w, annotate(r.Rationale, r.CandidateNumber, prior, newEv, ev.ID))
		if r.ReviewNote != "" {
			fmt.Fprintf(w, "Note: %s\n", r.ReviewNote)
		}
		if r.Status == "edited" {
			fmt.Fprintf(w, "The model said %s: %s\n", r.ModelType, annotate(r.ModelRationale, r.CandidateNumber, prior, newEv, ev.ID))
		}
	}
	var parts []string
	for _, st := range []string{"approved", "edited", "rejected", "pending"} {
		if counts[st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[st], st))
		}
	}
	detail := ""
	if len(parts) > 0 {
		detail = " (" + strings.Join(parts, ", ") + ")"
	}
	if n := counts["superseded"]; n > 0 {
		detail += fmt.Sprintf(", %d superseded not shown", n)
	}
	fmt.Fprint(w, answers)
	fmt.Fprintf(w, "show: %s: %d related events%s\n", ev.SourceID, len(shown), detail)
}

// reviewState is a relation's status as the event page shows it: with the
// reviewer and day where decided.
func reviewState(r analyzer.Stored) string {
	if r.ReviewedAt == nil {
		return r.Status
	}
	return fmt.Sprintf("%s by %s, %s", r.Status, r.ReviewedBy, r.ReviewedAt.UTC().Format("2006-01-02"))
}

var (
	eventRef    = regexp.MustCompile(`\bEvent (\d+)\b`)
	newEventRef = regexp.MustCompile(`(?i)\bthe New Event\b`)
)

// annotate puts beside the first "Event N" (the relation's own number) and
// the first "the New Event" of a rationale which event each means, so a
// reader can follow it: [id, date, headline], or [this event].
func annotate(rationale string, number int, prior, newEv events.Event, this int64) string {
	label := func(e events.Event) string {
		if e.ID == this {
			return " [this event]"
		}
		return fmt.Sprintf(" [%s, %s: %s]", e.SourceID, e.OccurredAt.Format("2006-01-02"), textfeat.Shorten(e.Headline(), 60))
	}
	done := false
	out := eventRef.ReplaceAllStringFunc(rationale, func(m string) string {
		n, _ := strconv.Atoi(m[len("Event "):])
		if done || n != number {
			return m
		}
		done = true
		return m + label(prior)
	})
	done = false
	return newEventRef.ReplaceAllStringFunc(out, func(m string) string {
		if done {
			return m
		}
		done = true
		return m + label(newEv)
	})
}

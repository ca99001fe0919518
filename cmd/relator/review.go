package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os/user"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/relator/relator/events"
	"github.com/relator/relator/internal/db"
	"github.com/relator/relator/internal/textfeat"
	"github.com/relator/relator/review"
)

// reviewFlags are the flags of `relator review`; which of them an action
// reads is in their usage.
type reviewFlags struct {
	fs                   *flag.FlagSet
	status, event, typ   *string
	minConf, maxConf     *float64
	model, promptVersion *string
	from, to             *string
	limit                *int
	by, note, rationale  *string
	yes                  *bool
	expect               *int
	asJSON               *bool
}

// filterFlags are the flags that select relations for list and for bulk
// decisions.
var filterFlags = []string{"event", "type", "min-confidence", "max-confidence", "model", "prompt-version", "from", "to"}

func reviewCmd(fs *flag.FlagSet) func(context.Context, invocation) error {
	f := reviewFlags{fs: fs,
		status:        fs.String("status", review.Pending, "list: pending, approved, edited, rejected, superseded, comma-separated, or all"),
		event:         fs.String("event", "", "list, bulk approve/reject: only relations of this event (source id), either side"),
		typ:           fs.String("type", "", "list, bulk approve/reject: only these types, comma-separated; edit: the corrected type"),
		minConf:       fs.Float64("min-confidence", 0, "list, bulk approve/reject: only confidence ≥ this"),
		maxConf:       fs.Float64("max-confidence", 1, "list, bulk approve/reject: only confidence ≤ this"),
		model:         fs.String("model", "", "list, bulk approve/reject: only relations of this model"),
		promptVersion: fs.String("prompt-version", "", "list, bulk approve/reject: only relations of this prompt version"),
		from:          fs.String("from", "", "list, bulk approve/reject: only relations whose new event is on or after this day (YYYY-MM-DD) or time"),
		to:            fs.String("to", "", "list, bulk approve/reject: only relations whose new event is on or before this day (included) or time"),
		limit:         fs.Int("limit", 50, "list: at most this many (0: all)"),
		by:            fs.String("by", "", "approve/reject/edit: the reviewer's name (default: your database role, or connected as relator's own account, your login name)"),
		note:          fs.String("note", "", "approve/reject/edit: a note kept with the decision (needed to reject)"),
		rationale:     fs.String("rationale", "", "edit: the corrected rationale"),
		yes:           fs.Bool("yes", false, "bulk approve/reject: do it (without: a dry run that counts)"),
		expect:        fs.Int("expect", -1, "bulk approve/reject with --yes: change nothing unless exactly this many match"),
		asJSON:        fs.Bool("json", false, "stats: print the figures as one JSON object"),
	}
	return func(ctx context.Context, inv invocation) error {
		if len(inv.args) == 0 {
			return usageError{"review needs an action: list, show ID, approve ID…, reject ID…, edit ID, stats"}
		}
		action := inv.args[0]
		run := map[string]func(context.Context, invocation, *pgxpool.Pool, []string) error{
			"list": f.list, "show": f.show, "approve": f.decide, "reject": f.decide, "edit": f.edit, "stats": f.stats,
		}[action]
		if run == nil {
			return usageError{fmt.Sprintf("unknown review action %q: want list, show, approve, reject, edit or stats", action)}
		}
		pool, err := db.Open(ctx, inv.cfg.DatabaseURL)
		if err != nil {
			return err
		}
		defer pool.Close()
		return run(ctx, inv, pool, inv.args)
	}
}

// filter is the selection the flags describe; any says whether a flag of
// filterFlags was given.
func (f reviewFlags) filter() (review.Filter, bool, error) {
	rf := review.Filter{EventID: *f.event, MinConfidence: *f.minConf, MaxConfidence: *f.maxConf,
		Model: *f.model, PromptVersion: *f.promptVersion, Limit: *f.limit}
	if *f.typ != "" {
		rf.Types = strings.Split(*f.typ, ",")
	}
	if *f.status != "all" {
		rf.Statuses = strings.Split(*f.status, ",")
	}
	var err error
	if *f.from != "" {
		if rf.From, err = parseBound(*f.from, "--from", false); err != nil {
			return rf, false, err
		}
	}
	if *f.to != "" {
		if rf.To, err = parseBound(*f.to, "--to", true); err != nil {
			return rf, false, err
		}
	}
	given := false
	f.fs.Visit(func(fl *flag.Flag) {
		for _, name := range filterFlags {
			given = given || fl.Name == name
		}
	})
	return rf, given, nil
}

// reviewer is the name decisions are recorded under: --by; else, connected
// as relator's own account (the owner of the tables), the login name of the
// user running the command; else the reviewer's own database role.
func (f reviewFlags) reviewer(ctx context.Context, pool *pgxpool.Pool) (string, error) {
	if *f.by != "" {
		return *f.by, nil
	}
	role, owner, err := review.Role(ctx, pool)
	if err != nil {
		return "", err
	}
	if owner {
		if u, err := user.Current(); err == nil {
			return u.Username, nil
		}
	}
	return role, nil
}

func (f reviewFlags) list(ctx context.Context, inv invocation, pool *pgxpool.Pool, args []string) error {
	if len(args) > 1 {
		return usageError{"review list takes no arguments"}
	}
	rf, _, err := f.filter()
	if err != nil {
		return err
	}
	items, total, err := review.List(ctx, pool, rf)
	if err != nil {
		return err
	}
	for _, it := range items {
		printItem(inv.stdout, it)
	}
	fmt.Fprintf(inv.stdout, "review: %d of %d %s relations listed\n", len(items), total, strings.ReplaceAll(*f.status, ",", "/"))
	return nil
}

// printItem prints one relation of a list.
func printItem(w io.Writer, it review.Item) {
	fmt.Fprintf(w, "#%d [%s] %s %.2f · %s %s → %s %s · %s, prompt %s\n", it.ID, it.Status, it.Type, it.Confidence,
		it.Prior.SourceID, it.Prior.OccurredAt.Format(time.DateOnly), it.New.SourceID, it.New.OccurredAt.Format(time.DateOnly),
		it.Model, it.PromptVersion)
	fmt.Fprintf(w, "    Event %d: %s\n    New Event: %s\n    %s\n", it.Number, textfeat.Shorten(it.Prior.Headline, 100),
		textfeat.Shorten(it.New.Headline, 100), it.Rationale)
	if it.ModelType != "" {
		fmt.Fprintf(w, "    the model said %s: %s\n", it.ModelType, it.ModelRationale)
	}
	if it.ReviewedAt != nil {
		note := ""
		if it.Note != "" {
			note = ": " + it.Note
		}
		fmt.Fprintf(w, "    %s by %s at %s%s\n", it.Status, it.ReviewedBy, it.ReviewedAt.UTC().Format("2006-01-02 15:04 MST"), note)
	}
}

func (f reviewFlags) show(ctx context.Context, inv invocation, pool *pgxpool.Pool, args []string) error {
	if len(args) != 2 {
		return usageError{"review show takes one relation id"}
	}
	ids, err := relationIDs(args[1:])
	if err != nil {
		return err
	}
	d, err := review.Show(ctx, pool, ids[0])
	if err != nil {
		return err
	}
	printDetail(inv.stdout, d)
	fmt.Fprintf(inv.stdout, "review: relation %d shown: %s, %d audit entries\n", d.ID, d.Status, len(d.History))
	return nil
}

// printDetail prints everything a reviewer reads to decide a relation.
func printDetail(w io.Writer, d review.Detail) {
	fmt.Fprintf(w, "Relation #%d [%s] %s, confidence %.2f · %s, prompt %s · written %s\n", d.ID, d.Status, d.Type, d.Confidence,
		d.Model, d.PromptVersion, d.CreatedAt.UTC().Format("2006-01-02 15:04 MST"))
	for _, side := range []struct {
		label string
		ev    events.Event
	}{{fmt.Sprintf("Event %d (the prior event)", d.Number), d.Prior}, {"The New Event", d.New}} {
		fmt.Fprintf(w, "%s: %s · %s\n", side.label, side.ev.SourceID, side.ev.OccurredAt.Format("2006-01-02 15:04 MST"))
		if side.ev.Title != "" {
			fmt.Fprintln(w, side.ev.Title)
		}
		if side.ev.Summary != "" {
			fmt.Fprintln(w, side.ev.Summary)
		}
	}
	fmt.Fprintf(w, "Rationale\n%s\n", annotate(d.Rationale, d.Number, d.Prior, d.New, 0))
	if d.ModelType != "" {
		fmt.Fprintf(w, "The model's own (%s)\n%s\n", d.ModelType, annotate(d.ModelRationale, d.Number, d.Prior, d.New, 0))
	}
	fmt.Fprintln(w, "Model answer")
	if d.Answer.Recorded {
		fmt.Fprintln(w, d.Answer.Text)
	} else {
		fmt.Fprintf(w, "(%s)\n", d.Answer.Why)
	}
	fmt.Fprintln(w, "History")
	if len(d.History) == 0 {
		fmt.Fprintln(w, "(no change since it was written)")
	}
	for _, e := range d.History {
		who := e.Reviewer
		if e.DBUser != e.Reviewer {
			who += " (as " + e.DBUser + ")"
		}
		fmt.Fprintf(w, "%s %s: %s → %s", e.At.UTC().Format("2006-01-02 15:04:05 MST"), who, e.From, e.To)
		if e.NewType != "" {
			fmt.Fprintf(w, ", type %s → %s", e.OldType, e.NewType)
		}
		if e.NewRationale != "" {
			fmt.Fprint(w, ", rationale rewritten")
		}
		if e.Note != "" {
			fmt.Fprintf(w, ": %s", e.Note)
		}
		fmt.Fprintln(w)
	}
}

func (f reviewFlags) decide(ctx context.Context, inv invocation, pool *pgxpool.Pool, args []string) error {
	action := args[0]
	rf, bulk, err := f.filter()
	if err != nil {
		return err
	}
	by, err := f.reviewer(ctx, pool)
	if err != nil {
		return err
	}
	decision := review.Decision{Status: map[string]string{"approve": review.Approved, "reject": review.Rejected}[action],
		Reviewer: by, Note: *f.note}
	if len(args) > 1 && bulk {
		return usageError{"review " + action + " takes relation ids or filters, not both"}
	}
	if len(args) == 1 && !bulk {
		return usageError{"review " + action + " needs relation ids, or filters (--type, --min-confidence, --prompt-version, …) for a bulk decision"}
	}
	if !bulk {
		ids, err := relationIDs(args[1:])
		if err != nil {
			return err
		}
		n, err := review.Decide(ctx, pool, ids, decision)
		if err != nil {
			return noteHint(err)
		}
		fmt.Fprintf(inv.stdout, "review: %d relations %s by %s\n", n, decision.Status, decision.Reviewer)
		return nil
	}
	rf.Statuses, rf.Limit = []string{review.Pending}, 0
	if !*f.yes {
		n, err := review.Count(ctx, pool, rf)
		if err != nil {
			return err
		}
		fmt.Fprintf(inv.stdout, "review: dry run: %d pending relations match; nothing was changed (again with --yes --expect %d to %s them)\n",
			n, n, action)
		return nil
	}
	n, err := review.DecideMatching(ctx, pool, rf, decision, *f.expect)
	if err != nil {
		return noteHint(err)
	}
	fmt.Fprintf(inv.stdout, "review: %d relations %s by %s\n", n, decision.Status, decision.Reviewer)
	return nil
}

func (f reviewFlags) edit(ctx context.Context, inv invocation, pool *pgxpool.Pool, args []string) error {
	if len(args) != 2 {
		return usageError{"review edit takes one relation id, with --type and/or --rationale"}
	}
	ids, err := relationIDs(args[1:])
	if err != nil {
		return err
	}
	if *f.typ == "" && *f.rationale == "" {
		return usageError{"review edit needs --type or --rationale"}
	}
	by, err := f.reviewer(ctx, pool)
	if err != nil {
		return err
	}
	d := review.Decision{Status: review.Edited, Reviewer: by, Note: *f.note, Type: *f.typ, Rationale: *f.rationale}
	if _, err := review.Decide(ctx, pool, ids, d); err != nil {
		return err
	}
	fmt.Fprintf(inv.stdout, "review: relation %d edited by %s\n", ids[0], d.Reviewer)
	return nil
}

func (f reviewFlags) stats(ctx context.Context, inv invocation, pool *pgxpool.Pool, args []string) error {
	if len(args) > 1 {
		return usageError{"review stats takes no arguments"}
	}
	rep, err := review.Stats(ctx, pool)
	if err != nil {
		return err
	}
	if *f.asJSON {
		b, err := json.Marshal(rep)
		if err != nil {
			return err
		}
		fmt.Fprintf(inv.stdout, "%s\n", b)
		return nil
	}
	for i, part := range []struct {
		title  string
		groups []review.Group
	}{{"TYPE", rep.ByType}, {"PROMPT VERSION", rep.ByPromptVersion}, {"MODEL", rep.ByModel}} {
		if i > 0 {
			fmt.Fprintln(inv.stdout)
		}
		tw := tabwriter.NewWriter(inv.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "%s\tRELATIONS\tPENDING\tAPPROVED\tEDITED\tREJECTED\tSUPERSEDED\tAPPROVAL RATE\tMEAN CONFIDENCE\tMEDIAN TIME TO REVIEW\n", part.title)
		for _, g := range part.groups {
			c := g.Counts
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%.2f\t%s\n", g.Key, c.Relations, c.Pending, c.Approved, c.Edited,
				c.Rejected, c.Superseded, rate(c.ApprovalRate), c.MeanConfidence, reviewTime(c))
		}
		tw.Flush()
	}
	all := rep.All
	fmt.Fprintf(inv.stdout, "review stats: %d relations, %d decided (%d approved, %d edited, %d rejected), %d pending, approval rate %s, median time to review %s\n",
		all.Relations, all.Decided(), all.Approved, all.Edited, all.Rejected, all.Pending, rate(all.ApprovalRate), reviewTime(all))
	return nil
}

func rate(r *float64) string {
	if r == nil {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", math.Round(*r*100))
}

func reviewTime(c review.Counts) string {
	if c.Decided() == 0 {
		return "-"
	}
	d := c.MedianReview
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Hour:
		return d.Round(time.Second).String()
	}
	return d.Round(time.Minute).String()
}

// relationIDs reads relation ids, with or without their "#".
func relationIDs(args []string) ([]int64, error) {
	ids := make([]int64, 0, len(args))
	for _, a := range args {
		id, err := strconv.ParseInt(strings.TrimPrefix(a, "#"), 10, 64)
		if err != nil {
			return nil, usageError{fmt.Sprintf("%q is not a relation id", a)}
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func noteHint(err error) error {
	if errors.Is(err, review.ErrNoteNeeded) {
		return fmt.Errorf("%w; say why with --note", err)
	}
	return err
}

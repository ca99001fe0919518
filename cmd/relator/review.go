package main

import (
	"context"
	"flag"
	"fmt"
	"os/user"
	"strconv"
	"strings"

	"github.com/relator/relator/internal/db"
	"github.com/relator/relator/internal/textfeat"
	"github.com/relator/relator/review"
)

func reviewCmd(fs *flag.FlagSet) func(context.Context, invocation) error {
	status := fs.String("status", review.Pending, "list: pending, approved, rejected or all")
	event := fs.String("event", "", "list: only relations of this event (source id)")
	limit := fs.Int("limit", 50, "list: at most this many (0: all)")
	by := fs.String("by", "", "approve/reject: the reviewer's name (default: the login name)")
	note := fs.String("note", "", "approve/reject: a note kept with the decision")
	return func(ctx context.Context, inv invocation) error {
		if len(inv.args) == 0 {
			return usageError{"review needs an action: list, approve ID…, reject ID…"}
		}
		action, rest := inv.args[0], inv.args[1:]
		pool, err := db.Open(ctx, inv.cfg.DatabaseURL)
		if err != nil {
			return err
		}
		defer pool.Close()
		switch action {
		case "list":
			if len(rest) > 0 {
				return usageError{"review list takes no arguments"}
			}
			var st []string
			if *status != "all" {
				st = []string{*status}
			}
			items, total, err := review.List(ctx, pool, review.Filter{Statuses: st, EventID: *event, Limit: *limit})
			if err != nil {
				return err
			}
			for _, it := range items {
				fmt.Fprintf(inv.stdout, "#%d [%s] %s %.2f · %s %s → %s %s · %s\n", it.ID, it.Status, it.Type, it.Confidence,
					it.Prior.SourceID, it.Prior.OccurredAt.Format("2006-01-02"), it.New.SourceID, it.New.OccurredAt.Format("2006-01-02"), it.Model)
				fmt.Fprintf(inv.stdout, "    Event %d: %s\n    New Event: %s\n    %s\n", it.Number, textfeat.Shorten(it.Prior.Headline, 100),
					textfeat.Shorten(it.New.Headline, 100), it.Rationale)
				if it.ReviewedBy != "" {
					fmt.Fprintf(inv.stdout, "    reviewed by %s at %s %s\n", it.ReviewedBy, it.ReviewedAt.Format("2006-01-02 15:04"), it.Note)
				}
			}
			fmt.Fprintf(inv.stdout, "review: %d of %d %s relations listed\n", len(items), total, orAll(*status))
			return nil
		case "approve", "reject":
			ids := make([]int64, 0, len(rest))
			for _, a := range rest {
				id, err := strconv.ParseInt(strings.TrimPrefix(a, "#"), 10, 64)
				if err != nil {
					return usageError{fmt.Sprintf("%q is not a relation id", a)}
				}
				ids = append(ids, id)
			}
			if len(ids) == 0 {
				return usageError{"review " + action + " needs relation ids"}
			}
			reviewer := *by
			if reviewer == "" {
				if u, err := user.Current(); err == nil {
					reviewer = u.Username
				}
			}
			decision := map[string]string{"approve": review.Approved, "reject": review.Rejected}[action]
			if _, err := review.Decide(ctx, pool, ids, review.Decision{Status: decision, Reviewer: reviewer, Note: *note}); err != nil {
				return err
			}
			fmt.Fprintf(inv.stdout, "review: %d relations %s by %s\n", len(ids), decision, reviewer)
			return nil
		}
		return usageError{fmt.Sprintf("unknown review action %q: want list, approve or reject", action)}
	}
}

func orAll(status string) string {
	if status == "" {
		return "all"
	}
	return status
}

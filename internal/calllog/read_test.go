package calllog_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/relator/relator/analyzer"
	"github.com/relator/relator/internal/calllog"
	"github.com/relator/relator/internal/pgtest"
)

// TestOfLatestAndRender: the calls of an analysis read back oldest first
// and up to a time; Latest keeps the newest attempt (its first call and
// repair); Render shows each call's kind, time, finish reason, tokens and
// latency above the raw answer, or the error.
func TestOfLatestAndRender(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t)
	ev := oneEvent(t, pool)
	log := calllog.New(pool)
	k := key(ev, "first")
	answer := func(content string) analyzer.ChatAnswer {
		return analyzer.ChatAnswer{Choices: 1, Content: content, FinishReason: "stop", TokensIn: 700, TokensOut: 40}
	}
	for _, c := range []analyzer.ChatCall{
		{CallKey: k, Kind: analyzer.CallFirst, Err: "HTTP 503: overloaded", Latency: 2 * time.Second},
		{CallKey: k, Kind: analyzer.CallFirst, Answer: answer(`not json`), Latency: 1200 * time.Millisecond},
		{CallKey: key(ev, "repair"), Kind: analyzer.CallRepair, Answer: answer(`{"relations": []}`), Latency: 900 * time.Millisecond},
	} {
		if err := log.Record(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	a := calllog.Analysis{EventID: ev.ID, EventHash: ev.ContentHash(), Model: "m", PromptVersion: "p"}
	calls, err := calllog.Of(ctx, pool, a, time.Time{})
	if err != nil || len(calls) != 3 || calls[0].Err == "" || calls[2].Kind != "repair" {
		t.Fatalf("calls %+v, %v", calls, err)
	}
	if before, err := calllog.Of(ctx, pool, a, calls[0].At.Add(-time.Second)); err != nil || len(before) != 0 {
		t.Fatalf("calls before the first: %+v, %v", before, err)
	}
	latest := calllog.Latest(calls)
	if len(latest) != 2 || latest[0].Response != "not json" {
		t.Fatalf("latest attempt %+v; want the answered first call and its repair", latest)
	}
	out := calllog.Render(calls)
	for _, want := range []string{"first call · ", "failed after 2s", "error: HTTP 503: overloaded",
		"finish stop · 700 tokens in / 40 out · 1.2s\nnot json\n", "repair call · ", `{"relations": []}`} {
		if !strings.Contains(out, want) {
			t.Errorf("render lacks %q:\n%s", want, out)
		}
	}
}

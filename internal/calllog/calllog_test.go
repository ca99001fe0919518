package calllog_test

import (
	"context"
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/relator/relator/analyzer"
	"github.com/relator/relator/events"
	"github.com/relator/relator/internal/calllog"
	"github.com/relator/relator/internal/pgtest"
)

// oneEvent stores an event and returns it.
func oneEvent(t *testing.T, pool *pgxpool.Pool) events.Event {
	t.Helper()
	ctx := context.Background()
	if _, err := events.Import(ctx, pool, strings.NewReader(`{"id":"e1","occurred_at":"2026-04-01","title":"Talks open"}`+"\n")); err != nil {
		t.Fatal(err)
	}
	ev, err := events.BySourceID(ctx, pool, "e1")
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func key(ev events.Event, request string) analyzer.CallKey {
	sum := sha256.Sum256([]byte(request))
	return analyzer.CallKey{EventID: ev.ID, EventHash: ev.ContentHash(), Model: "m", PromptVersion: "p", RequestHash: sum[:]}
}

// TestAnswerOnlyForTheSameAnalysisAndRequest: a stored answer is found for
// exactly its analysis key and request hash, only when the call succeeded,
// and only when recorded after Since; the newest wins.
func TestAnswerOnlyForTheSameAnalysisAndRequest(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t)
	ev := oneEvent(t, pool)
	log := calllog.New(pool)
	k := key(ev, "request")
	ok := analyzer.ChatAnswer{ResponseID: "r1", Choices: 1, Content: `{"relations":[]}`, FinishReason: "stop", TokensIn: 10, TokensOut: 2}
	if err := log.Record(ctx, analyzer.ChatCall{CallKey: k, Kind: analyzer.CallFirst, Err: "HTTP 500", Latency: time.Second}); err != nil {
		t.Fatal(err)
	}
	if _, found, err := log.Answer(ctx, analyzer.CallQuery{CallKey: k}); err != nil || found {
		t.Fatalf("a failed call is no answer: found %v, %v", found, err)
	}
	if err := log.Record(ctx, analyzer.ChatCall{CallKey: k, Kind: analyzer.CallFirst, Answer: ok, Latency: 1500 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	newer := ok
	newer.ResponseID, newer.Content = "r2", `{"relations":[{"event":1}]}`
	if err := log.Record(ctx, analyzer.ChatCall{CallKey: k, Kind: analyzer.CallFirst, Answer: newer}); err != nil {
		t.Fatal(err)
	}
	got, found, err := log.Answer(ctx, analyzer.CallQuery{CallKey: k})
	if err != nil || !found || got != newer {
		t.Fatalf("answer %+v, %v, %v; want the newest %+v", got, found, err, newer)
	}
	for name, other := range map[string]analyzer.CallKey{
		"another request":        key(ev, "other request"),
		"another model":          func() analyzer.CallKey { o := k; o.Model = "m2"; return o }(),
		"another prompt version": func() analyzer.CallKey { o := k; o.PromptVersion = "p2"; return o }(),
		"other content":          func() analyzer.CallKey { o := k; o.EventHash = []byte("x"); return o }(),
	} {
		if _, found, err := log.Answer(ctx, analyzer.CallQuery{CallKey: other}); err != nil || found {
			t.Errorf("%s: found %v, %v; want none", name, found, err)
		}
	}
	if _, found, err := log.Answer(ctx, analyzer.CallQuery{CallKey: k, Since: time.Now().Add(time.Minute)}); err != nil || found {
		t.Errorf("answers recorded before Since: found %v, %v; want none", found, err)
	}
	if _, found, err := log.Answer(ctx, analyzer.CallQuery{CallKey: k, Since: time.Now().Add(-time.Minute)}); err != nil || !found {
		t.Errorf("answers recorded after Since: found %v, %v; want one", found, err)
	}
}

// TestRecordRefusesWhatIsNoCall: a call of an unknown event or kind is a
// database error, not a silent row.
func TestRecordRefusesWhatIsNoCall(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t)
	ev := oneEvent(t, pool)
	log := calllog.New(pool)
	bad := key(ev, "r")
	bad.EventID = ev.ID + 1000
	if err := log.Record(ctx, analyzer.ChatCall{CallKey: bad, Kind: analyzer.CallFirst}); err == nil {
		t.Error("a call of an event that does not exist was recorded")
	}
	if err := log.Record(ctx, analyzer.ChatCall{CallKey: key(ev, "r"), Kind: "third"}); err == nil {
		t.Error("a call of kind third was recorded")
	}
}

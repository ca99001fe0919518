package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	openai "github.com/sashabaranov/go-openai"

	"github.com/relator/relator/embeddings"
	"github.com/relator/relator/internal/pgtest"
)

// classifyFake answers a chat request as the fake model does, for the
// synchronous endpoint and for every line of a batch alike: Event 1 is a
// continuation, Event 3 (when shown) a parallel development. About one
// prompt in ten gets a first reply naming an Event 99 that does not exist,
// which needs the repair call; the repair request (more than two
// messages) gets the valid reply.
func classifyFake(req openai.ChatCompletionRequest) (content string) {
	user := req.Messages[1].Content
	items := []string{`{"event":1,"type":"continuation","confidence":0.7,"rationale":"Event 1 reports the step before. The New Event continues it."}`}
	if strings.Contains(user, `<event number="3">`) {
		items = append(items, `{"event":3,"type":"parallel","confidence":0.4,"rationale":"Event 3 runs beside the New Event."}`)
	}
	if len(req.Messages) == 2 && needsRepair(user) {
		items = append(items, `{"event":99,"type":"causes","confidence":0.5,"rationale":"Event 99 caused the New Event."}`)
	}
	return `{"relations":[` + strings.Join(items, ",") + `]}`
}

// needsRepair picks about one prompt in ten, by its text.
func needsRepair(user string) bool {
	return crc32.ChecksumIEEE([]byte(user))%10 == 0
}

func chatCompletion(req openai.ChatCompletionRequest) map[string]any {
	return map[string]any{"id": "x", "object": "chat.completion", "model": req.Model,
		"choices": []map[string]any{{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": classifyFake(req)}}},
		"usage":   map[string]any{"prompt_tokens": 500, "completion_tokens": 30, "total_tokens": 530}}
}

// batchFake is an OpenAI-compatible server with the Batch API: files,
// batches, and output files computed by classifyFake. With expire set, a
// batch expires having answered only its first answered requests.
type batchFake struct {
	t        *testing.T
	mu       sync.Mutex
	files    map[string][]byte
	batches  map[string]map[string]any
	order    []string
	expire   bool
	refuse   bool // POST /v1/batches answers 500 and creates nothing
	lose     bool // POST /v1/batches creates the batch, then answers 500: created but never confirmed
	answered int
	chat     atomic.Int64 // synchronous chat calls
	lines    atomic.Int64 // batch requests received
}

func newBatchFake(t *testing.T) (*batchFake, *httptest.Server) {
	f := &batchFake{t: t, files: map[string][]byte{}, batches: map[string]map[string]any{}}
	offline := embeddings.NewOffline(embeddings.OfflineOptions{Dimensions: 64})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		switch {
		case r.URL.Path == "/v1/embeddings":
			serveEmbeddings(w, r, offline)
		case r.URL.Path == "/v1/chat/completions":
			f.chat.Add(1)
			var req openai.ChatCompletionRequest
			json.NewDecoder(r.Body).Decode(&req)
			json.NewEncoder(w).Encode(chatCompletion(req))
		case r.URL.Path == "/v1/files" && r.Method == http.MethodPost:
			if err := r.ParseMultipartForm(1 << 30); err != nil || r.FormValue("purpose") != "batch" {
				http.Error(w, `{"error":{"message":"bad upload"}}`, http.StatusBadRequest)
				return
			}
			file, _, err := r.FormFile("file")
			if err != nil {
				http.Error(w, `{"error":{"message":"no file"}}`, http.StatusBadRequest)
				return
			}
			b, _ := io.ReadAll(file)
			id := fmt.Sprintf("file-in-%d", len(f.files))
			f.files[id] = b
			json.NewEncoder(w).Encode(map[string]any{"id": id, "object": "file", "bytes": len(b), "purpose": "batch"})
		case r.URL.Path == "/v1/batches" && r.Method == http.MethodPost && f.refuse:
			http.Error(w, `{"error":{"message":"server error"}}`, http.StatusInternalServerError)
		case r.URL.Path == "/v1/batches" && r.Method == http.MethodPost:
			var req openai.CreateBatchRequest
			json.NewDecoder(r.Body).Decode(&req)
			if _, ok := f.files[req.InputFileID]; !ok || req.Endpoint != "/v1/chat/completions" || req.CompletionWindow != "24h" {
				http.Error(w, `{"error":{"message":"bad batch"}}`, http.StatusBadRequest)
				return
			}
			id := fmt.Sprintf("batch_%d", len(f.batches))
			f.batches[id] = map[string]any{"id": id, "object": "batch", "endpoint": req.Endpoint, "input_file_id": req.InputFileID,
				"completion_window": "24h", "status": "validating", "created_at": 1700000000, "expires_at": 1700086400,
				"metadata": req.Metadata, "request_counts": map[string]int{}}
			f.order = append(f.order, id)
			if f.lose {
				http.Error(w, `{"error":{"message":"server error"}}`, http.StatusInternalServerError)
				return
			}
			json.NewEncoder(w).Encode(f.batches[id])
		case r.URL.Path == "/v1/batches" && r.Method == http.MethodGet:
			var data []map[string]any
			for _, id := range slices.Backward(f.order) {
				data = append(data, f.batches[id])
			}
			json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data, "has_more": false})
		case strings.HasPrefix(r.URL.Path, "/v1/batches/"):
			b, ok := f.batches[strings.TrimPrefix(r.URL.Path, "/v1/batches/")]
			if !ok {
				http.NotFound(w, r)
				return
			}
			if b["status"] == "validating" {
				f.finish(b)
			}
			json.NewEncoder(w).Encode(b)
		case strings.HasPrefix(r.URL.Path, "/v1/files/") && strings.HasSuffix(r.URL.Path, "/content"):
			b, ok := f.files[strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/v1/files/"), "/content")]
			if !ok {
				http.NotFound(w, r)
				return
			}
			w.Write(b)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return f, srv
}

// finish ends a batch: every request answered, or with expire only the
// first f.answered.
func (f *batchFake) finish(b map[string]any) {
	var out, errs bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(f.files[b["input_file_id"].(string)]))
	sc.Buffer(nil, 1<<30)
	n := 0
	for sc.Scan() {
		var line openai.BatchChatCompletionRequest
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil || line.Method != "POST" || line.URL != "/v1/chat/completions" {
			f.t.Errorf("bad batch line %q: %v", sc.Text(), err)
			continue
		}
		f.lines.Add(1)
		if f.expire && n >= f.answered {
			fmt.Fprintf(&errs, `{"id":"req_x","custom_id":%q,"response":null,"error":{"code":"batch_expired","message":"This request could not be executed before the completion window expired."}}`+"\n", line.CustomID)
			continue
		}
		n++
		fmt.Fprintf(&out, `{"id":"req_%d","custom_id":%q,"response":{"status_code":200,"request_id":"r","body":%s},"error":null}`+"\n",
			n, line.CustomID, must(json.Marshal(chatCompletion(line.Body))))
	}
	id := fmt.Sprintf("file-out-%d", len(f.files))
	f.files[id] = out.Bytes()
	b["output_file_id"] = id
	if errs.Len() > 0 {
		eid := fmt.Sprintf("file-err-%d", len(f.files))
		f.files[eid] = errs.Bytes()
		b["error_file_id"] = eid
	}
	b["status"] = "completed"
	if f.expire {
		b["status"] = "expired"
	}
	b["request_counts"] = map[string]int{"total": int(f.lines.Load()), "completed": n}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// relationSet is every relation of a database as comparable text.
func relationSet(t *testing.T, url string) []string {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(context.Background(), `
		SELECT n.source_id || ' ' || p.source_id || ' ' || r.type || ' ' || r.confidence || ' ' || r.rationale || ' ' || r.model || ' ' || r.prompt_version
		  FROM relations r JOIN events n ON n.id = r.new_event_id JOIN events p ON p.id = r.prior_event_id ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	set, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func batchCLI(t *testing.T, srv *httptest.Server, url string, extra map[string]string) func(args ...string) string {
	environ := map[string]string{
		"DATABASE_URL": url, "OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": srv.URL + "/v1",
		"RELATOR_EMBEDDING_MODEL": "test-embedder", "RELATOR_CHAT_MODEL": "test-chat",
	}
	for k, v := range extra {
		environ[k] = v
	}
	return func(args ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), args, env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr,
			lookupEnv: func(k string) (string, bool) { v, ok := environ[k]; return v, ok }})
		if code != 0 {
			t.Fatalf("relator %v: exit %d\n%s%s", args, code, stdout.String(), stderr.String())
		}
		return stdout.String()
	}
}

// TestBatchRoundTripWritesTheSyncRelations: run --batch sends every
// analysis in batches split at RELATOR_BATCH_MAX_REQUESTS, and relator
// batches collects them into exactly the relations a synchronous run
// writes, repairs included, each analysis recording its batch.
func TestBatchRoundTripWritesTheSyncRelations(t *testing.T) {
	syncFake, syncSrv := newBatchFake(t)
	syncURL := pgtest.NewDatabase(t)
	syncCLI := batchCLI(t, syncSrv, syncURL, nil)
	syncCLI("import", devSet)
	syncCLI("run")
	want := relationSet(t, syncURL)
	repairs := int(syncFake.chat.Load()) - 427
	if len(want) < 427 || repairs <= 0 {
		t.Fatalf("the synchronous run wrote %d relations with %d repairs; the test needs both", len(want), repairs)
	}

	f, srv := newBatchFake(t)
	url := pgtest.NewDatabase(t)
	cli := batchCLI(t, srv, url, map[string]string{"RELATOR_BATCH_MAX_REQUESTS": "200"})
	cli("import", devSet)
	out := cli("run", "--batch")
	if !strings.Contains(out, "427 events sent in 3 batches (batch_0, batch_1, batch_2)") || !strings.Contains(out, "wrote 0 relations") {
		t.Fatalf("run --batch: %s", out)
	}
	if f.chat.Load() != 0 || queryInt(t, url, `SELECT count(*) FROM event_analyses WHERE status = 'batched'`) != 427 {
		t.Fatalf("%d chat calls; want the analyses batched, not made", f.chat.Load())
	}
	if got := queryInt(t, url, `SELECT count(*) FROM batches WHERE requests <= 200 AND provider_batch_id IS NOT NULL`); got != 3 {
		t.Fatalf("%d batches of at most 200 requests recorded", got)
	}
	// A pass meanwhile neither waits for nor redoes the batched analyses.
	if out := cli("status"); !strings.Contains(out, "427") {
		t.Fatalf("status: %s", out)
	}

	out = cli("batches")
	if !strings.Contains(out, "3 polled, 3 collected (batch_0, batch_1, batch_2): 427 analysed") {
		t.Fatalf("batches: %s", out)
	}
	if got := relationSet(t, url); !slices.Equal(got, want) {
		t.Fatalf("batch round trip wrote %d relations, the synchronous run %d; first of the batch's: %q", len(got), len(want), got[:min(3, len(got))])
	}
	if int(f.chat.Load()) != repairs {
		t.Fatalf("%d synchronous repair calls in collection; the synchronous run needed %d", f.chat.Load(), repairs)
	}
	if got := queryInt(t, url, `SELECT count(*) FROM event_analyses a JOIN batches b ON b.id = a.batch_id
		WHERE a.status = 'done' AND b.provider_batch_id LIKE 'batch_%'`); got != 427 {
		t.Fatalf("%d analyses record their batch, want 427", got)
	}
	if got := queryInt(t, url, `SELECT sum(tokens_in)::int FROM batches`); got != 427*500 {
		t.Fatalf("batches record %d tokens in, want %d", got, 427*500)
	}
	out = cli("run")
	if !strings.Contains(out, "wrote 0 relations, 0 model calls") {
		t.Fatalf("run after collection: %s", out)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(cli("batches", "--json")), &list); err != nil || len(list) != 3 || list[0]["status"] != "completed" {
		t.Fatalf("batches --json: %v %v", list, err)
	}
}

// sampleHead writes the first n events of the sample to a file of their own.
func sampleHead(t *testing.T, n int) string {
	t.Helper()
	b, err := os.ReadFile(devSet)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfterN(string(b), "\n", n+1)
	path := filepath.Join(t.TempDir(), "head.jsonl")
	if err := os.WriteFile(path, []byte(strings.Join(lines[:n], "")), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestExpiredBatchReturnsItsEventsToPending: a batch that expires having
// answered ten requests gets those written and the rest, which the
// provider lists as expired in its error file, returned to pending
// without costing an attempt; the same pass then analyses them
// synchronously.
func TestExpiredBatchReturnsItsEventsToPending(t *testing.T) {
	f, srv := newBatchFake(t)
	f.expire, f.answered = true, 10
	url := pgtest.NewDatabase(t)
	cli := batchCLI(t, srv, url, nil)
	cli("import", sampleHead(t, 40))
	if out := cli("run", "--batch"); !strings.Contains(out, "39 events sent in 1 batches (batch_0)") {
		t.Fatalf("run --batch: %s", out)
	}
	out := cli("run")
	if !strings.Contains(out, "1 batches collected (batch_0)") || !strings.Contains(out, "29 released unfinished") ||
		!strings.Contains(out, "analysed 39") {
		t.Fatalf("run after expiry: %s", out)
	}
	if got := queryInt(t, url, `SELECT count(*) FROM batches WHERE status = 'expired' AND returned = 29 AND analysed = 10`); got != 1 {
		t.Fatal("the expired batch does not record 10 analysed and 29 returned")
	}
	if got := queryInt(t, url, `SELECT count(*) FROM event_analyses WHERE status = 'done' AND attempts = 1`); got != 40 {
		t.Fatalf("%d analyses done at their first attempt, want 40: an expired batch costs no attempt", got)
	}
	if got := queryInt(t, url, `SELECT count(*) FROM event_analyses WHERE status = 'done' AND batch_id IS NOT NULL`); got != 10 {
		t.Fatalf("%d analyses record the batch, want the 10 it answered", got)
	}
}

// TestBatchNeverCreatedIsGivenBack: a batch recorded whose creation failed
// is looked up at the provider once its run has ended, not found, and its
// requests are given back to a synchronous pass.
func TestBatchNeverCreatedIsGivenBack(t *testing.T) {
	f, srv := newBatchFake(t)
	f.refuse = true
	testUnconfirmedBatch(t, f, srv, false)
}

// TestBatchCreatedButNotRecordedIsAdopted: a batch the provider created
// though its answer was lost is found by its metadata, adopted and
// collected; nothing is asked twice.
func TestBatchCreatedButNotRecordedIsAdopted(t *testing.T) {
	f, srv := newBatchFake(t)
	f.lose = true
	testUnconfirmedBatch(t, f, srv, true)
}

func testUnconfirmedBatch(t *testing.T, f *batchFake, srv *httptest.Server, created bool) {
	url := pgtest.NewDatabase(t)
	environ := map[string]string{"DATABASE_URL": url, "OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": srv.URL + "/v1",
		"RELATOR_EMBEDDING_MODEL": "test-embedder", "RELATOR_CHAT_MODEL": "test-chat", "RELATOR_MAX_RETRIES": "0"}
	cli := batchCLI(t, srv, url, environ)
	cli("import", sampleHead(t, 40))
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"run", "--batch"}, env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr,
		lookupEnv: func(k string) (string, bool) { v, ok := environ[k]; return v, ok }})
	if code == 0 || queryInt(t, url, `SELECT count(*) FROM batches WHERE status = 'preparing' AND provider_batch_id IS NULL`) != 1 {
		t.Fatalf("run --batch against a refusing server: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	if got := queryInt(t, url, `SELECT count(*) FROM event_analyses WHERE status = 'batched'`); got != 39 {
		t.Fatalf("%d analyses batched, want 39 held for the unconfirmed batch", got)
	}
	out := cli("run")
	if created {
		if !strings.Contains(out, "analysed 39") || !strings.Contains(out, "1 batches collected (batch_0)") ||
			strings.Contains(out, "released") || f.lines.Load() != 39 {
			t.Fatalf("run after the unconfirmed submission: %d batch requests run\n%s", f.lines.Load(), out)
		}
		if got := queryInt(t, url, `SELECT count(*) FROM batches WHERE status = 'completed' AND provider_batch_id = 'batch_0' AND analysed = 39`); got != 1 {
			t.Fatal("the adopted batch is not recorded as collected")
		}
		return
	}
	if !strings.Contains(out, "analysed 39") || !strings.Contains(out, "39 released unfinished") {
		t.Fatalf("run after the failed submission: %s", out)
	}
	if got := queryInt(t, url, `SELECT count(*) FROM batches WHERE status = 'abandoned' AND returned = 39`); got != 1 {
		t.Fatal("the unconfirmed batch is not abandoned with its 39 requests returned")
	}
}

package analyzer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// The wire of OpenAI's Batch API, through go-openai: the input file's
// lines, the batch, and the output and error files' lines. Nothing else in
// relator speaks it.

// Batch API limits (OpenAI's): requests per batch, and the input file's
// size.
const (
	DefaultBatchMaxRequests       = 50_000
	DefaultBatchMaxBytes    int64 = 200 * 1000 * 1000
)

// batchWindow is the completion window asked for, the only one OpenAI
// offers; a batch not done by then expires, with what was done in its
// output file.
const batchWindow = "24h"

// ProviderBatch is a batch as the provider reports it.
type ProviderBatch struct {
	ID, InputFileID, OutputFileID, ErrorFileID string
	Status                                     string // validating, in_progress, finalizing, completed, failed, expired, cancelling, cancelled
	Completed, Failed                          int
	ExpiresAt, EndedAt                         time.Time // zero when not known
	Errors                                     []string  // why the provider refused the batch
}

// terminal tells a batch that will change no more.
func (b ProviderBatch) terminal() bool {
	switch b.Status {
	case "completed", "failed", "expired", "cancelled":
		return true
	}
	return false
}

// BatchAPI is the Batch API as the batcher uses it.
type BatchAPI interface {
	// Submit uploads lines as one JSONL file (purpose "batch") and creates
	// a batch of chat completions from it, with metadata.
	Submit(ctx context.Context, name string, lines [][]byte, metadata map[string]string) (ProviderBatch, error)
	Retrieve(ctx context.Context, id string) (ProviderBatch, error)
	// Find looks for a batch created since by its metadata relator_batch
	// (one whose creation was not recorded); ok is false if there is none.
	Find(ctx context.Context, localID string, since time.Time) (ProviderBatch, bool, error)
	// Content is a file's content (an output or error file).
	Content(ctx context.Context, fileID string) ([]byte, error)
}

// OpenAIBatches is the Batch API of an OpenAI client (from
// internal/openaiclient: retries and fatal errors apply).
type OpenAIBatches struct{ Client *openai.Client }

var _ BatchAPI = OpenAIBatches{}

// rawLine is one pre-marshalled line of an input file: the batcher
// measures each line to split batches, so it marshals them itself.
type rawLine []byte

func (r rawLine) MarshalBatchLineItem() []byte { return r }

// Submit implements BatchAPI.
func (o OpenAIBatches) Submit(ctx context.Context, name string, lines [][]byte, metadata map[string]string) (ProviderBatch, error) {
	req := openai.UploadBatchFileRequest{FileName: name, Lines: make([]openai.BatchLineItem, len(lines))}
	for i, l := range lines {
		req.Lines[i] = rawLine(l)
	}
	f, err := o.Client.UploadBatchFile(ctx, req)
	if err != nil {
		return ProviderBatch{}, fmt.Errorf("upload batch file: %w", err)
	}
	meta := make(map[string]any, len(metadata))
	for k, v := range metadata {
		meta[k] = v
	}
	b, err := o.Client.CreateBatch(ctx, openai.CreateBatchRequest{InputFileID: f.ID,
		Endpoint: openai.BatchEndpointChatCompletions, CompletionWindow: batchWindow, Metadata: meta})
	if err != nil {
		return ProviderBatch{InputFileID: f.ID}, fmt.Errorf("create batch: %w", err)
	}
	return providerBatch(b.Batch), nil
}

// Retrieve implements BatchAPI.
func (o OpenAIBatches) Retrieve(ctx context.Context, id string) (ProviderBatch, error) {
	b, err := o.Client.RetrieveBatch(ctx, id)
	if err != nil {
		return ProviderBatch{}, fmt.Errorf("retrieve batch %s: %w", id, err)
	}
	return providerBatch(b.Batch), nil
}

// Find implements BatchAPI: it pages through the batches, newest first,
// until they are older than since.
func (o OpenAIBatches) Find(ctx context.Context, localID string, since time.Time) (ProviderBatch, bool, error) {
	var after *string
	limit := 100
	for {
		page, err := o.Client.ListBatch(ctx, after, &limit)
		if err != nil {
			return ProviderBatch{}, false, fmt.Errorf("list batches: %w", err)
		}
		for _, b := range page.Data {
			if fmt.Sprint(b.Metadata["relator_batch"]) == localID {
				return providerBatch(b), true, nil
			}
			if time.Unix(int64(b.CreatedAt), 0).Before(since.Add(-time.Minute)) {
				return ProviderBatch{}, false, nil
			}
		}
		if !page.HasMore || page.LastID == "" || len(page.Data) == 0 {
			return ProviderBatch{}, false, nil
		}
		last := page.LastID
		after = &last
	}
}

// Content implements BatchAPI.
func (o OpenAIBatches) Content(ctx context.Context, fileID string) ([]byte, error) {
	r, err := o.Client.GetFileContent(ctx, fileID)
	if err != nil {
		return nil, fmt.Errorf("download file %s: %w", fileID, err)
	}
	defer r.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(r); err != nil {
		return nil, fmt.Errorf("download file %s: %w", fileID, err)
	}
	return b.Bytes(), nil
}

func providerBatch(b openai.Batch) ProviderBatch {
	p := ProviderBatch{ID: b.ID, InputFileID: b.InputFileID, Status: b.Status,
		Completed: b.RequestCounts.Completed, Failed: b.RequestCounts.Failed}
	if b.OutputFileID != nil {
		p.OutputFileID = *b.OutputFileID
	}
	if b.ErrorFileID != nil {
		p.ErrorFileID = *b.ErrorFileID
	}
	unix := func(t *int) time.Time {
		if t == nil || *t == 0 {
			return time.Time{}
		}
		return time.Unix(int64(*t), 0).UTC()
	}
	p.ExpiresAt = unix(b.ExpiresAt)
	for _, t := range []*int{b.CompletedAt, b.FailedAt, b.ExpiredAt, b.CancelledAt} {
		if e := unix(t); !e.IsZero() {
			p.EndedAt = e
		}
	}
	if b.Errors != nil {
		for _, e := range b.Errors.Data {
			p.Errors = append(p.Errors, e.Code+": "+e.Message)
		}
	}
	return p
}

// batchLine renders one request of an input file: the chat completion body
// exactly as the synchronous call sends it, named by the analysis key.
func batchLine(customID string, req openai.ChatCompletionRequest) ([]byte, error) {
	b, err := json.Marshal(openai.BatchChatCompletionRequest{CustomID: customID, Body: req, Method: http.MethodPost,
		URL: openai.BatchEndpointChatCompletions})
	if err != nil {
		return nil, fmt.Errorf("render batch request %s: %w", customID, err)
	}
	return b, nil
}

// batchResult is one line of an output or error file.
type batchResult struct {
	CustomID string `json:"custom_id"`
	Response *struct {
		StatusCode int             `json:"status_code"`
		Body       json.RawMessage `json:"body"`
	} `json:"response"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// reply is the chat completion of a successful line; ok is false for a
// line that carries an error instead, described by problem.
func (r batchResult) reply() (resp openai.ChatCompletionResponse, ok bool, problem string) {
	switch {
	case r.Error != nil:
		return resp, false, fmt.Sprintf("batch request failed: %s: %s", r.Error.Code, r.Error.Message)
	case r.Response == nil:
		return resp, false, "batch request has no response"
	case r.Response.StatusCode != http.StatusOK:
		return resp, false, fmt.Sprintf("batch request failed with status %d: %s", r.Response.StatusCode, truncate(string(r.Response.Body), 300))
	}
	if err := json.Unmarshal(r.Response.Body, &resp); err != nil {
		return resp, false, fmt.Sprintf("batch response body: %v", err)
	}
	return resp, true, ""
}

// unanswered tells a line of the error file that the provider never ran:
// the batch expired or was cancelled before it came to the request, which
// costs the analysis no attempt.
func (r batchResult) unanswered() bool {
	return r.Error != nil && (r.Error.Code == "batch_expired" || r.Error.Code == "batch_cancelled")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// parseResults reads an output or error file; a line that is not JSON, or
// names no request, is an error naming the line.
func parseResults(content []byte) ([]batchResult, error) {
	var out []batchResult
	sc := bufio.NewScanner(bytes.NewReader(content))
	sc.Buffer(make([]byte, 0, 64*1024), 64*1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var r batchResult
		if err := json.Unmarshal(line, &r); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if r.CustomID == "" {
			return nil, fmt.Errorf("line %d: field custom_id: missing", n)
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// errNoBatchAPI is returned for a classifier that has no Batch API.
var errNoBatchAPI = errors.New("the Batch API needs the openai classifier")

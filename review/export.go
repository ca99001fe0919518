package review

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/relator/relator/events"
)

// Export formats.
const (
	JSONL   = "jsonl"
	CSV     = "csv"
	GraphML = "graphml"
)

// ExportOptions chooses what Export writes and how.
type ExportOptions struct {
	// Status chooses the relations: Approved (the default) is the reviewed
	// graph — approved and edited relations, with the reviewer's text where
	// edited; any other status, or "all", exports those.
	Status string
	// Format is JSONL, CSV or GraphML.
	Format string
}

// Exported is one relation as Export writes it: JSONL objects have these
// fields, CSV these columns, GraphML edges these data keys.
type Exported struct {
	ID            int64     `json:"id"`
	Status        string    `json:"status"`
	Type          string    `json:"type"`
	Confidence    float64   `json:"confidence"`
	Rationale     string    `json:"rationale"`
	PriorEvent    string    `json:"prior_event"`
	PriorDate     time.Time `json:"prior_date"`
	PriorHeadline string    `json:"prior_headline"`
	NewEvent      string    `json:"new_event"`
	NewDate       time.Time `json:"new_date"`
	NewHeadline   string    `json:"new_headline"`
	Model         string    `json:"model"`
	PromptVersion string    `json:"prompt_version"`
	CreatedAt     time.Time `json:"created_at"`
	ReviewedBy    string    `json:"reviewed_by,omitempty"`
	ReviewedAt    string    `json:"reviewed_at,omitempty"`
	Note          string    `json:"review_note,omitempty"`
	// ModelType and ModelRationale are the model's own where a reviewer
	// edited them.
	ModelType      string `json:"model_type,omitempty"`
	ModelRationale string `json:"model_rationale,omitempty"`
}

var exportColumns = []string{"id", "status", "type", "confidence", "rationale",
	"prior_event", "prior_date", "prior_headline", "new_event", "new_date", "new_headline",
	"model", "prompt_version", "created_at", "reviewed_by", "reviewed_at", "review_note", "model_type", "model_rationale"}

func (e Exported) record() []string {
	return []string{strconv.FormatInt(e.ID, 10), e.Status, e.Type, strconv.FormatFloat(e.Confidence, 'f', -1, 32), e.Rationale,
		e.PriorEvent, e.PriorDate.Format(time.RFC3339), e.PriorHeadline, e.NewEvent, e.NewDate.Format(time.RFC3339), e.NewHeadline,
		e.Model, e.PromptVersion, e.CreatedAt.Format(time.RFC3339), e.ReviewedBy, e.ReviewedAt, e.Note, e.ModelType, e.ModelRationale}
}

// ExportStats counts what Export wrote.
type ExportStats struct {
	Relations int
	Events    int // events with at least one exported relation
}

// Export writes the relations opts chooses to w, in time order of their
// new events.
func Export(ctx context.Context, q events.Querier, w io.Writer, opts ExportOptions) (ExportStats, error) {
	statuses := []string{Approved, Edited}
	switch opts.Status {
	case "", Approved:
	case "all":
		statuses = Statuses()
	default:
		if err := validStatus(opts.Status); err != nil {
			return ExportStats{}, err
		}
		statuses = []string{opts.Status}
	}
	write := map[string]func(io.Writer, []Exported) error{JSONL: writeJSONL, CSV: writeCSV, GraphML: writeGraphML}[opts.Format]
	if write == nil {
		return ExportStats{}, fmt.Errorf("unknown export format %q: want jsonl, csv or graphml", opts.Format)
	}
	rows, err := q.Query(ctx, `
		SELECT r.id, r.status, r.type, r.confidence::numeric::float8, r.rationale,
		       p.source_id, p.occurred_at, coalesce(p.title, p.summary), n.source_id, n.occurred_at, coalesce(n.title, n.summary),
		       r.model, r.prompt_version, r.created_at, coalesce(r.reviewed_by, ''),
		       coalesce(to_char(r.reviewed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), ''),
		       coalesce(r.review_note, ''), coalesce(r.model_type, ''), coalesce(r.model_rationale, '')
		  FROM relations r
		  JOIN events n ON n.id = r.new_event_id
		  JOIN events p ON p.id = r.prior_event_id
		 WHERE r.status = ANY($1)
		 ORDER BY n.occurred_at, n.source_id, p.occurred_at, p.source_id, r.id`, statuses)
	if err != nil {
		return ExportStats{}, fmt.Errorf("export relations: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Exported, error) {
		var e Exported
		err := row.Scan(&e.ID, &e.Status, &e.Type, &e.Confidence, &e.Rationale,
			&e.PriorEvent, &e.PriorDate, &e.PriorHeadline, &e.NewEvent, &e.NewDate, &e.NewHeadline,
			&e.Model, &e.PromptVersion, &e.CreatedAt, &e.ReviewedBy, &e.ReviewedAt, &e.Note, &e.ModelType, &e.ModelRationale)
		e.PriorDate, e.NewDate, e.CreatedAt = e.PriorDate.UTC(), e.NewDate.UTC(), e.CreatedAt.UTC()
		return e, err
	})
	if err != nil {
		return ExportStats{}, fmt.Errorf("export relations: %w", err)
	}
	if err := write(w, list); err != nil {
		return ExportStats{}, fmt.Errorf("write %s: %w", opts.Format, err)
	}
	return ExportStats{Relations: len(list), Events: len(nodes(list))}, nil
}

func writeJSONL(w io.Writer, list []Exported) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, e := range list {
		if err := enc.Encode(e); err != nil {
			return err
		}
	}
	return nil
}

func writeCSV(w io.Writer, list []Exported) error {
	cw := csv.NewWriter(w)
	cw.Write(exportColumns)
	for _, e := range list {
		cw.Write(e.record())
	}
	cw.Flush()
	return cw.Error()
}

// node is an event of the exported graph.
type node struct {
	id       string
	date     time.Time
	headline string
}

// nodes lists the events of the relations, in time order.
func nodes(list []Exported) []node {
	seen := map[string]bool{}
	var out []node
	for _, e := range list {
		for _, n := range []node{{e.PriorEvent, e.PriorDate, e.PriorHeadline}, {e.NewEvent, e.NewDate, e.NewHeadline}} {
			if !seen[n.id] {
				seen[n.id] = true
				out = append(out, n)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b node) int {
		if c := a.date.Compare(b.date); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	return out
}

// GraphML (http://graphml.graphdrawing.org): events are nodes with their
// date and headline; relations are directed edges from the prior event to
// the new one, with every exported field as data.
type (
	graphML struct {
		XMLName xml.Name   `xml:"graphml"`
		NS      string     `xml:"xmlns,attr"`
		Keys    []graphKey `xml:"key"`
		Graph   graph      `xml:"graph"`
	}
	graphKey struct {
		ID   string `xml:"id,attr"`
		For  string `xml:"for,attr"`
		Name string `xml:"attr.name,attr"`
		Type string `xml:"attr.type,attr"`
	}
	graph struct {
		ID          string      `xml:"id,attr"`
		EdgeDefault string      `xml:"edgedefault,attr"`
		Nodes       []graphNode `xml:"node"`
		Edges       []graphEdge `xml:"edge"`
	}
	graphNode struct {
		ID   string      `xml:"id,attr"`
		Data []graphData `xml:"data"`
	}
	graphEdge struct {
		ID     string      `xml:"id,attr"`
		Source string      `xml:"source,attr"`
		Target string      `xml:"target,attr"`
		Data   []graphData `xml:"data"`
	}
	graphData struct {
		Key   string `xml:"key,attr"`
		Value string `xml:",chardata"`
	}
)

func writeGraphML(w io.Writer, list []Exported) error {
	g := graphML{NS: "http://graphml.graphdrawing.org/xmlns", Graph: graph{ID: "relator", EdgeDefault: "directed"}}
	g.Keys = []graphKey{{"date", "node", "date", "string"}, {"headline", "node", "headline", "string"}}
	edgeKeys := []string{"status", "type", "confidence", "rationale", "model", "prompt_version", "created_at",
		"reviewed_by", "reviewed_at", "review_note", "model_type", "model_rationale"}
	for _, k := range edgeKeys {
		typ := "string"
		if k == "confidence" {
			typ = "double"
		}
		g.Keys = append(g.Keys, graphKey{k, "edge", k, typ})
	}
	for _, n := range nodes(list) {
		g.Graph.Nodes = append(g.Graph.Nodes, graphNode{ID: n.id, Data: []graphData{
			{"date", n.date.Format(time.RFC3339)}, {"headline", n.headline}}})
	}
	for _, e := range list {
		rec := e.record()
		byCol := make(map[string]string, len(rec))
		for i, c := range exportColumns {
			byCol[c] = rec[i]
		}
		edge := graphEdge{ID: "r" + strconv.FormatInt(e.ID, 10), Source: e.PriorEvent, Target: e.NewEvent}
		for _, k := range edgeKeys {
			if v := byCol[k]; v != "" {
				edge.Data = append(edge.Data, graphData{k, v})
			}
		}
		g.Graph.Edges = append(g.Graph.Edges, edge)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(g); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

package price

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// LoadFile reads prices from path over t: a JSON object
// {"MODEL": {"input": USD, "output": USD}, …} (.json), or CSV lines
// "model,input,output" with an optional header line (any other name). The
// file's models replace t's; the others stay. A malformed file is an error
// naming its line and field, and nothing of it is used.
func (t Table) LoadFile(path string) (Table, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return t, fmt.Errorf("prices: %w", err)
	}
	var read map[string]Price
	if strings.EqualFold(filepath.Ext(path), ".json") {
		read, err = parseJSON(b)
	} else {
		read, err = parseCSV(b)
	}
	if err != nil {
		return t, fmt.Errorf("prices %s: %w", path, err)
	}
	for m, p := range read {
		t = t.With(m, p)
	}
	return t, nil
}

func parseJSON(b []byte) (map[string]Price, error) {
	var raw map[string]map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&raw); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return nil, fmt.Errorf("line %d: %w", 1+bytes.Count(b[:syn.Offset], []byte("\n")), err)
		}
		return nil, fmt.Errorf(`want {"MODEL": {"input": USD, "output": USD}}: %w`, err)
	}
	out := map[string]Price{}
	for m, fields := range raw {
		var p Price
		for name, v := range fields {
			var f float64
			if err := json.Unmarshal(v, &f); err != nil {
				return nil, fmt.Errorf("model %s, field %s: not a number", m, name)
			}
			switch name {
			case "input":
				p.Input = f
			case "output":
				p.Output = f
			default:
				return nil, fmt.Errorf("model %s: unknown field %s (want input, output)", m, name)
			}
		}
		if _, ok := fields["input"]; !ok {
			return nil, fmt.Errorf("model %s: field input missing", m)
		}
		if err := check(m, p); err != nil {
			return nil, err
		}
		out[m] = p
	}
	return out, nil
}

func parseCSV(b []byte) (map[string]Price, error) {
	r := csv.NewReader(bytes.NewReader(b))
	r.Comment = '#'
	r.FieldsPerRecord = -1
	out := map[string]Price{}
	for first := true; ; first = false {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		line, _ := r.FieldPos(0)
		if first && len(rec) > 0 && strings.EqualFold(strings.TrimSpace(rec[0]), "model") {
			continue
		}
		if len(rec) < 2 || len(rec) > 3 {
			return nil, fmt.Errorf("line %d: want model,input,output", line)
		}
		m := strings.TrimSpace(rec[0])
		if m == "" {
			return nil, fmt.Errorf("line %d, field model: empty", line)
		}
		var p Price
		if p.Input, err = strconv.ParseFloat(strings.TrimSpace(rec[1]), 64); err != nil {
			return nil, fmt.Errorf("line %d, field input: not a number", line)
		}
		if len(rec) == 3 && strings.TrimSpace(rec[2]) != "" {
			if p.Output, err = strconv.ParseFloat(strings.TrimSpace(rec[2]), 64); err != nil {
				return nil, fmt.Errorf("line %d, field output: not a number", line)
			}
		}
		if err := check(m, p); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		out[m] = p
	}
}

func check(model string, p Price) error {
	if p.Input < 0 || p.Output < 0 {
		return fmt.Errorf("model %s: negative price", model)
	}
	return nil
}

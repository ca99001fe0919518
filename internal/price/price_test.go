package price_test

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relator/relator/internal/price"
)

func TestLookupDefaultsSnapshotsAndUnknown(t *testing.T) {
	tab := price.Defaults()
	for _, c := range []struct {
		model   string
		want    price.Price
		unknown bool
	}{
		{"gpt-4o-mini", price.Price{Input: 0.15, Output: 0.60}, false},
		{"gpt-4o-2024-08-06", price.Price{Input: 2.50, Output: 10}, false},
		{"GPT-4.1-mini", price.Price{Input: 0.40, Output: 1.60}, false},
		{"ft:gpt-4o-mini:acme::abc123", price.Price{Input: 0.15, Output: 0.60}, false},
		{"openai/gpt-5", price.Price{Input: 1.25, Output: 10}, false},
		{"text-embedding-3-small", price.Price{Input: 0.02}, false},
		{"text-embedding-3-large@256", price.Price{Input: 0.13}, false},
		{"offline-rules-v1", price.Price{}, false},
		{"llama3.1:8b", price.Price{}, true},
		{"test-chat", price.Price{}, true},
	} {
		p, ok := tab.Lookup(c.model)
		if ok == c.unknown || p != c.want {
			t.Errorf("Lookup(%q) = %+v, %v; want %+v, known %v", c.model, p, ok, c.want, !c.unknown)
		}
	}
}

func TestCost(t *testing.T) {
	p := price.Price{Input: 0.15, Output: 0.60}
	if got := p.Cost(2_000_000, 500_000); math.Abs(got-0.60) > 1e-12 {
		t.Fatalf("cost = %v, want 0.60", got)
	}
	if !strings.Contains(price.Unknown("m"), "cost unknown (no price for m; set RELATOR_PRICES") {
		t.Fatal(price.Unknown("m"))
	}
}

func TestLoadFileJSONAndCSV(t *testing.T) {
	dir := t.TempDir()
	js := filepath.Join(dir, "p.json")
	os.WriteFile(js, []byte(`{"test-chat": {"input": 1, "output": 2}, "gpt-4o-mini": {"input": 0.1, "output": 0.2}}`), 0o600)
	tab, err := price.Defaults().LoadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := tab.Lookup("test-chat"); !ok || p != (price.Price{Input: 1, Output: 2}) {
		t.Fatalf("test-chat: %+v %v", p, ok)
	}
	if p, _ := tab.Lookup("gpt-4o-mini"); p != (price.Price{Input: 0.1, Output: 0.2}) {
		t.Fatalf("override: %+v", p)
	}
	if p, _ := tab.Lookup("gpt-4o"); p != (price.Price{Input: 2.5, Output: 10}) {
		t.Fatalf("others kept: %+v", p)
	}
	cs := filepath.Join(dir, "p.csv")
	os.WriteFile(cs, []byte("model,input,output\n# local\nllama3,0,0\nemb,0.05\n"), 0o600)
	tab, err = price.Defaults().LoadFile(cs)
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := tab.Lookup("emb"); !ok || p.Input != 0.05 {
		t.Fatalf("emb: %+v %v", p, ok)
	}
	if _, ok := tab.Lookup("llama3"); !ok {
		t.Fatal("llama3 unknown")
	}
}

func TestLoadFileErrorsNameLineAndField(t *testing.T) {
	dir := t.TempDir()
	for name, c := range map[string]struct{ text, want string }{
		"a.csv":  {"model,input,output\ngpt-x,0.1,0.2\ngpt-y,cheap,0.2\n", "line 3, field input: not a number"},
		"b.csv":  {"gpt-x,0.1,-1\n", "line 1: model gpt-x: negative price"},
		"c.json": {"{\n\"m\": {\"input\": 1,\n}}", "line 3"},
		"d.json": {`{"m": {"input": "1"}}`, "model m, field input: not a number"},
		"e.json": {`{"m": {"output": 1}}`, "model m: field input missing"},
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(c.text), 0o600)
		_, err := price.Defaults().LoadFile(p)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want %q", name, err, c.want)
		}
	}
}

package devset

import (
	"context"
	"errors"
	"go/parser"
	"go/token"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/relator/relator/embeddings"
	"github.com/relator/relator/events"
)

func writeFile(t *testing.T, text string) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "events.jsonl")
	if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

func TestLoadInPriorOrder(t *testing.T) {
	name := writeFile(t, `{"id":"c","occurred_at":"2015-09-02","summary":"C.","story":"s"}
{"id":"b","occurred_at":"2015-09-02","summary":"B.","story":null}
{"id":"a","occurred_at":"2015-09-03T10:00:00+02:00","summary":"A.","actors":["X"],"story":"s"}
`)
	evs, err := Load(name)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, e.SourceID+"/"+strconv.FormatInt(e.ID, 10)+"/"+Story(e))
	}
	if want := "b/2/ c/1/s a/3/s"; strings.Join(got, " ") != want {
		t.Fatalf("got %q, want %q (prior order; ids by line; stories)", got, want)
	}
	if !evs[2].OccurredAt.Equal(time.Date(2015, 9, 3, 8, 0, 0, 0, time.UTC)) || evs[2].ActorNames()[0] != "X" {
		t.Errorf("event a = %+v", evs[2])
	}
	items := Items(evs)
	if len(items) != 3 || items[1].ID != "c" || items[1].Story != "s" || items[0].Story != "" {
		t.Errorf("Items = %+v", items)
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "none.jsonl")); err == nil {
		t.Error("missing file: no error")
	}
	if _, err := Load(writeFile(t, "{\"id\":\"a\"}\n")); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("malformed line: %v", err)
	}
}

func TestCosine(t *testing.T) {
	for _, c := range []struct {
		a, b []float32
		want float64
	}{
		{[]float32{1, 0}, []float32{2, 0}, 1},
		{[]float32{1, 0}, []float32{0, 3}, 0},
		{[]float32{1, 1}, []float32{-1, -1}, -1},
		{[]float32{3, 4}, []float32{4, 3}, 24.0 / 25},
		{[]float32{0, 0}, []float32{1, 0}, 0},
	} {
		if got := Cosine(c.a, c.b); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("Cosine(%v, %v) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

func TestExactPriors(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2015, 9, d, 0, 0, 0, 0, time.UTC) }
	evs := []events.Event{{OccurredAt: day(1)}, {OccurredAt: day(2)}, {OccurredAt: day(3)}, {OccurredAt: day(4)}}
	vecs := [][]float32{{1, 0}, {0, 1}, {1, 0}, {1, 0.1}}
	got := ExactPriors(vecs, evs, 3, 2)
	// Events 0 and 2 tie at the top: prior order keeps 0 first; 1 is cut.
	if len(got) != 2 || got[0].EventID != 0 || got[1].EventID != 2 || !got[1].OccurredAt.Equal(day(3)) {
		t.Fatalf("got %+v", got)
	}
	if got[0].Similarity != Cosine(vecs[3], vecs[0]) {
		t.Errorf("similarity %v", got[0].Similarity)
	}
	if got := ExactPriors(vecs, evs, 0, 60); len(got) != 0 {
		t.Errorf("first event: %+v, want no priors", got)
	}
	if got := ExactPriors(vecs, evs, 3, 60); len(got) != 3 || got[2].EventID != 1 {
		t.Errorf("whole pool: %+v", got)
	}
	if PoolSize(15) != 60 || PoolSize(20) != 80 {
		t.Errorf("PoolSize(15), PoolSize(20) = %d, %d", PoolSize(15), PoolSize(20))
	}
}

func TestRetrieve(t *testing.T) {
	evs, err := Load("../" + Path)
	if err != nil {
		t.Fatal(err)
	}
	var pools []int
	rerank := func(at time.Time, pool []embeddings.Neighbor, k int) []embeddings.Neighbor {
		pools = append(pools, len(pool))
		return embeddings.Rerank(at, pool, k)
	}
	got, err := Retrieve(evs, embeddings.NewOffline(embeddings.OfflineOptions{}), rerank, 15)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(evs) || len(got[0]) != 0 || len(got[1]) != 1 || len(got[len(evs)-1]) != 15 {
		t.Fatalf("%d events, candidates of the first, second and last: %d, %d, %d", len(got), len(got[0]), len(got[1]), len(got[len(evs)-1]))
	}
	if pools[100] != 60 {
		t.Errorf("event 100 re-ranks a pool of %d, want 60", pools[100])
	}
	for i, ns := range got {
		for _, n := range ns {
			if n.EventID >= int64(i) {
				t.Fatalf("event %d: candidate %d is not a prior", i, n.EventID)
			}
		}
	}
	if _, err := Retrieve(evs, failing{}, embeddings.Rerank, 15); err == nil || !strings.Contains(err.Error(), "down") {
		t.Errorf("failing embedder: %v", err)
	}
}

// failing is an embedder that cannot embed.
type failing struct{ embeddings.Embedder }

func (failing) Embed(context.Context, []string) ([][]float32, error) {
	return nil, errors.New("down")
}

// TestOnlyTestsImportDevset keeps this package test support: no file of the
// module but a _test.go file may import it.
func TestOnlyTestsImportDevset(t *testing.T) {
	const self = "github.com/relator/relator/internal/devset"
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != "../.." && (strings.HasPrefix(n, ".") || n == "testdata" || n == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == self {
				t.Errorf("%s imports %s, which is for tests only", path, self)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

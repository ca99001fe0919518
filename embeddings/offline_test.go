package embeddings_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/relator/relator/embeddings"
	"github.com/relator/relator/internal/devset"
)

func embedOne(t testing.TB, e *embeddings.Offline, text string) []float32 {
	t.Helper()
	vs, err := e.Embed(context.Background(), []string{text})
	if err != nil {
		t.Fatalf("Embed: %v", err)
	}
	if len(vs) != 1 || len(vs[0]) != e.Dimensions() {
		t.Fatalf("Embed returned %d vectors of length %d, want 1 of %d", len(vs), len(vs[0]), e.Dimensions())
	}
	return vs[0]
}

func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

var sampleText = embeddings.Text(embeddings.Document{
	Summary: "Hungarian riot police and migrants clash at the now-closed border crossing near Horgos.",
	Actors:  []string{"Riot police", "Horgos", "Hungary"},
})

func TestOfflineModelAndDimensions(t *testing.T) {
	if got := embeddings.NewOffline(embeddings.OfflineOptions{}).Model(); got != "offline-hash-v1-1024" {
		t.Errorf("default Model() = %q", got)
	}
	e := embeddings.NewOffline(embeddings.OfflineOptions{Dimensions: 256})
	if e.Dimensions() != 256 || e.Model() != "offline-hash-v1-256" {
		t.Errorf("Dimensions() = %d, Model() = %q", e.Dimensions(), e.Model())
	}
	var _ embeddings.Embedder = e
}

func TestOfflineDeterministic(t *testing.T) {
	a := embedOne(t, embeddings.NewOffline(embeddings.OfflineOptions{}), sampleText)
	for range 20 {
		// A new embedder each time: nothing may depend on process state,
		// map order or a random seed.
		b := embedOne(t, embeddings.NewOffline(embeddings.OfflineOptions{}), sampleText)
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				t.Fatalf("component %d differs between runs: %v vs %v", i, a[i], b[i])
			}
		}
	}
}

// TestOfflineFixedVector pins a few components, so that an accidental change
// of the algorithm (which would silently mix vector spaces under one Model
// name) fails here and prompts a version bump.
func TestOfflineFixedVector(t *testing.T) {
	v := embedOne(t, embeddings.NewOffline(embeddings.OfflineOptions{Dimensions: 64}), "Earthquake strikes Chile.")
	var nonzero int
	for _, x := range v {
		if x != 0 {
			nonzero++
		}
	}
	if nonzero == 0 {
		t.Fatal("zero vector for a non-empty text")
	}
	// Components rounded to 4 decimals, so that a last-bit difference of
	// math.Log between CPU architectures does not count as a change.
	var digest uint64 = 14695981039346656037
	for _, x := range v {
		digest = (digest ^ uint64(int64(math.Round(float64(x)*1e4)))) * 1099511628211
	}
	if want := uint64(0x89705c3f379a3f69); digest != want {
		t.Errorf("vector digest %#x, want %#x: the algorithm changed; bump OfflineVersion if intended", digest, want)
	}
}

func TestOfflineUnitNorm(t *testing.T) {
	e := embeddings.NewOffline(embeddings.OfflineOptions{})
	for _, text := range []string{sampleText, "Obama", strings.Repeat("war ", 1000), "Ёлка Москва 北京 2015"} {
		if n := norm(embedOne(t, e, text)); math.Abs(n-1) > 1e-5 {
			t.Errorf("norm of %.20q = %v, want 1", text, n)
		}
	}
}

func TestOfflineEmptyText(t *testing.T) {
	e := embeddings.NewOffline(embeddings.OfflineOptions{})
	for _, text := range []string{"", "   ", "\n\n", "the of and", "Actors: "} {
		v := embedOne(t, e, text)
		if n := norm(v); n != 0 {
			t.Errorf("norm of %q = %v, want the zero vector", text, n)
		}
	}
	vs, err := e.Embed(context.Background(), nil)
	if err != nil || len(vs) != 0 {
		t.Errorf("Embed(nil) = %v, %v", vs, err)
	}
}

func TestOfflineSimilarCloserThanUnrelated(t *testing.T) {
	e := embeddings.NewOffline(embeddings.OfflineOptions{})
	cases := []struct{ a, near, far embeddings.Document }{{
		a:    embeddings.Document{Summary: "Croatia closes seven of eight border crossings with Serbia as migrants keep arriving.", Actors: []string{"Croatia", "Serbia"}},
		near: embeddings.Document{Summary: "Thousands of migrants reach the Croatian border after Hungary sealed its frontier with Serbia.", Actors: []string{"Croatia", "Hungary", "Serbia"}},
		far:  embeddings.Document{Summary: "The central bank raises interest rates by a quarter point to curb inflation.", Actors: []string{"Central bank"}},
	}, {
		a:    embeddings.Document{Summary: "Volkswagen admits it fitted diesel cars with software to cheat emissions tests."},
		near: embeddings.Document{Summary: "Volkswagen's chief executive resigns over the diesel emissions scandal.", Actors: []string{"Volkswagen"}},
		far:  embeddings.Document{Summary: "A typhoon makes landfall in Taiwan, killing two people.", Actors: []string{"Taiwan"}},
	}, {
		// Morphology: only demonym and country name are shared.
		a:    embeddings.Document{Summary: "Syrian refugees reach Greece."},
		near: embeddings.Document{Summary: "Airstrikes hit rebel positions in Syria."},
		far:  embeddings.Document{Summary: "Airstrikes hit rebel positions in Peru."},
	}}
	for i, c := range cases {
		va := embedOne(t, e, embeddings.Text(c.a))
		near, far := devset.Cosine(va, embedOne(t, e, embeddings.Text(c.near))), devset.Cosine(va, embedOne(t, e, embeddings.Text(c.far)))
		if near <= far {
			t.Errorf("case %d: similar text at %.3f, unrelated at %.3f", i, near, far)
		}
	}
}

func TestOfflineIdenticalTextsMatch(t *testing.T) {
	e := embeddings.NewOffline(embeddings.OfflineOptions{})
	if s := devset.Cosine(embedOne(t, e, sampleText), embedOne(t, e, sampleText)); math.Abs(s-1) > 1e-6 {
		t.Errorf("self-similarity %v", s)
	}
}

func TestOfflineCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := embeddings.NewOffline(embeddings.OfflineOptions{}).Embed(ctx, []string{"x"})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Embed with a canceled context: %v, want context.Canceled", err)
	}
}

// BenchmarkOfflineEmbed measures one typical event text (summary and actors
// line, ~30 words) per op.
func BenchmarkOfflineEmbed(b *testing.B) {
	e := embeddings.NewOffline(embeddings.OfflineOptions{})
	text := embeddings.Text(embeddings.Document{
		Summary: "Hungary's parliament passes a law allowing the Hungarian military to help handle the migrant crisis at its borders with Serbia and Croatia, including the right to use rubber bullets and tear gas.",
		Actors:  []string{"Serbia", "Croatia", "Hungary", "Tear gas", "Hungarian Defence Force"},
	})
	ctx := context.Background()
	texts := []string{text}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Embed(ctx, texts); err != nil {
			b.Fatal(err)
		}
	}
}

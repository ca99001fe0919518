// Package embeddings turns events into vectors and finds an event's nearest
// prior events among them.
//
// It owns the embeddings table: the embedding step (Step) writes one vector
// per event and model, and Neighbors reads them back through the HNSW index.
// Vectors of different models are never compared.
package embeddings

import "context"

// Embedder turns texts into vectors. Implementations must return exactly one
// vector per input text, in input order, each of length Dimensions().
type Embedder interface {
	// Model names the vector space. It is stored with every vector, and only
	// vectors with the same Model are ever compared, so it must change
	// whenever the algorithm or its parameters change what a vector means.
	Model() string
	// Dimensions is the length of every vector Embed returns.
	Dimensions() int
	// Embed returns one vector per text.
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// Usage is what embedding cost at a model server: the requests it answered
// and the input tokens it billed for them.
type Usage struct {
	Requests int
	Tokens   int // the API's usage.prompt_tokens, or our count where it reports none
}

// Metered is an Embedder that tells what each call cost; the embedding step
// adds it up in StepStats. Embedders that call no model (the offline one)
// need not be Metered.
type Metered interface {
	Embedder
	// EmbedMetered is Embed, also returning the usage of the requests
	// answered — with an error too, since those were paid for.
	EmbedMetered(ctx context.Context, texts []string) ([][]float32, Usage, error)
}

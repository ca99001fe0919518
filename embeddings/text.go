package embeddings

import "strings"

// Document is the part of an event that is embedded.
type Document struct {
	Title   string
	Summary string
	Content string
	Actors  []string
}

// Text is the text embedded for a document: title, summary, one line
// "Actors: a; b; c", then the content, each on its own line and left out
// when empty. Embedders may rely on this layout (the offline embedder weighs
// the actors line on its own).
func Text(d Document) string {
	var b strings.Builder
	line := func(s string) {
		s = strings.TrimSpace(s)
		if s == "" {
			return
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(s)
	}
	line(d.Title)
	line(d.Summary)
	if len(d.Actors) > 0 {
		line(ActorsPrefix + strings.Join(d.Actors, "; "))
	}
	line(d.Content)
	return b.String()
}

// ActorsPrefix starts the actors line of Text.
const ActorsPrefix = "Actors: "

// Package textfeat extracts the text features that relator's offline
// providers share: tokens, stop words, stems and named-entity-like phrases.
//
// It exists because two packages need the same view of a text without
// either depending on the other: the offline embedder (package embeddings)
// hashes these features into vectors, and the offline classifier (package
// analyzer) compares them between two events to decide whether and how the
// events are related. Keeping the features in one place means both agree on
// what a "word" or a "name" is, and a change to tokenising changes both.
//
// Everything here is deterministic and uses no network and no corpus
// statistics; it is English-oriented (stop words and stemming) but
// unicode-aware, so names with diacritics or in other scripts survive as
// tokens.
package textfeat

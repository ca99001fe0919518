package main

import (
	"os"
	"strings"
	"testing"
)

// TestDocsListEveryCommand keeps docs/commands.md, the users' copy of the
// command contract, in step with the commands the binary has.
func TestDocsListEveryCommand(t *testing.T) {
	doc, err := os.ReadFile("../../docs/commands.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range commands() {
		if !strings.Contains(string(doc), "| `relator "+c.name) {
			t.Errorf("docs/commands.md has no row for `relator %s`", c.name)
		}
	}
}

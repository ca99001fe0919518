package progress

import (
	"os"

	"golang.org/x/term"
)

// IsTerminal reports whether f is a terminal, that is whether a live bar
// can be drawn on it. A nil f is not a terminal.
func IsTerminal(f *os.File) bool {
	if f == nil {
		return false
	}
	return term.IsTerminal(int(f.Fd()))
}

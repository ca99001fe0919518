package progress

import (
	"os"
	"path/filepath"
	"testing"
)

func TestIsTerminalFalseForFiles(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(f) {
		t.Fatal("a regular file reported as a terminal")
	}
	if IsTerminal(nil) {
		t.Fatal("nil reported as a terminal")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if IsTerminal(w) {
		t.Fatal("a pipe reported as a terminal")
	}
}

package analyzer

import (
	"os"
	"regexp"
	"slices"
	"testing"
)

// TestDocsListEveryRelationType keeps docs/relations.md, the users' copy of
// the taxonomy, in step with Taxonomy: the same types, no more, no fewer.
func TestDocsListEveryRelationType(t *testing.T) {
	doc, err := os.ReadFile("../docs/relations.md")
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\|").FindAllSubmatch(doc, -1) {
		documented = append(documented, string(m[1]))
	}
	var types []string
	for _, info := range Taxonomy() {
		types = append(types, string(info.Type))
	}
	slices.Sort(documented)
	slices.Sort(types)
	if !slices.Equal(documented, types) {
		t.Errorf("docs/relations.md lists %v, the taxonomy is %v", documented, types)
	}
}

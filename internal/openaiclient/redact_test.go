package openaiclient

import (
	"strings"
	"testing"
)

func TestRedactCutsTheKeyOutOfAnErrorAnswer(t *testing.T) {
	const key = `sk-proj-"odd\key`
	body := []byte(`{"error":{"message":"Incorrect API key provided: sk-proj-\"odd\\key (sk-proj-\"odd\\key)"}}`)
	got := string(redact(body, key))
	if strings.Contains(got, "odd") || strings.Count(got, "[redacted]") != 2 {
		t.Fatalf("redact: %s", got)
	}
	if got := string(redact([]byte("a test of sk-test"), "sk-test")); got != "a test of sk-test" {
		t.Fatalf("a short key is not a secret: %s", got)
	}
	if a := readAnswer(401, redact(body, key)); a.api == nil || strings.Contains(a.api.Message, "odd") {
		t.Fatalf("answer %+v", a.api)
	}
}

package textfeat

import "strings"

// NameKey reduces a lower-case name or demonym to a key that the country or
// region and its adjective share: "syria" and "syrian(s)" → "syr",
// "hungary" and "hungarian" → "hungar", "china" and "chinese" → "chin",
// "iraq" and "iraqi" → "iraq", "turkey" and "turkish" → "turk". It removes
// a plural -s, a demonym ending (-ese, -ish, the n of -ian, -ean, -can,
// -yan) and then
// trailing vowels and y. It is meant for capitalised words only, and it is
// approximate: irregular pairs (Germany/German, Norway/Norwegian) still
// differ, and unrelated names may meet; callers weigh it accordingly.
func NameKey(w string) string {
	if len(w) < 4 || !isASCIILower(w) {
		return w
	}
	k := w
	if len(k) > 4 && k[len(k)-1] == 's' && !strings.HasSuffix(k, "ss") &&
		!strings.HasSuffix(k, "us") && !strings.HasSuffix(k, "is") {
		k = k[:len(k)-1] // plural: "kurds", "syrians"
	}
	switch {
	case strings.HasSuffix(k, "ese") && len(k) > 5:
		k = k[:len(k)-3]
	case strings.HasSuffix(k, "ish") && len(k) > 5:
		k = k[:len(k)-3]
	case len(k) > 5 && k[len(k)-1] == 'n' && k[len(k)-2] == 'a' && strings.IndexByte("iecy", k[len(k)-3]) >= 0:
		k = k[:len(k)-1] // -ian, -ean, -can, -yan: "syrian" → "syria"
	}
	for len(k) > 3 && (isVowel(k[len(k)-1]) || k[len(k)-1] == 'y') {
		k = k[:len(k)-1]
	}
	return k
}

func isVowel(c byte) bool {
	return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'
}

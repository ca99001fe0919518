package textfeat

import (
	"reflect"
	"testing"
)

func TestWords(t *testing.T) {
	cases := map[string][]string{
		"Hungary's border with Serbia":   {"hungary", "border", "with", "serbia"},
		"The U.S. and the U.N. agree":    {"the", "us", "and", "the", "un", "agree"},
		"11,000 migrants; 3.5 percent":   {"11000", "migrants", "3.5", "percent"},
		"Al-Shabaab's attack":            {"al", "shabaab", "attack"},
		"Legionnaires' disease outbreak": {"legionnaires", "disease", "outbreak"},
		"München, Dongying (山东) — Ёлка":  {"münchen", "dongying", "山东", "ёлка"},
		"coup d'état":                    {"coup", "d", "état"},
		"":                               nil,
		"  ...  ":                        nil,
	}
	for in, want := range cases {
		got := Words(in)
		if len(got) == 0 && len(want) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Words(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTokenFlags(t *testing.T) {
	toks := Tokenize("The NATO summit. Leaders of Germany's army, 2015")
	type flags struct {
		text                                         string
		capitalized, acronym, numeric, start, joined bool
	}
	var got []flags
	for _, tk := range toks {
		got = append(got, flags{tk.Text, tk.Capitalized, tk.Acronym, tk.Numeric, tk.SentenceStart, tk.Joined})
	}
	want := []flags{
		{"the", true, false, false, true, false},
		{"nato", true, true, false, false, true},
		{"summit", false, false, false, false, true},
		{"leaders", true, false, false, true, false},
		{"of", false, false, false, false, true},
		{"germany", true, false, false, false, true},
		{"army", false, false, false, false, false}, // after a possessive
		{"2015", false, false, true, false, false},  // after a comma
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Tokenize flags:\n got %+v\nwant %+v", got, want)
	}
	if !toks[5].Possessive {
		t.Error("Germany's: Possessive = false")
	}
}

func TestStopWords(t *testing.T) {
	for _, w := range []string{"the", "and", "of", "which", "s", "don"} {
		if !IsStopWord(w) {
			t.Errorf("IsStopWord(%q) = false", w)
		}
	}
	for _, w := range []string{"migrants", "border", "attack", "ceasefire"} {
		if IsStopWord(w) {
			t.Errorf("IsStopWord(%q) = true", w)
		}
	}
	// "US" the country is content although "us" is a stop word.
	toks := Tokenize("US troops and us")
	if !IsContent(toks[0]) || IsContent(toks[3]) {
		t.Errorf("IsContent: US %v, us %v", IsContent(toks[0]), IsContent(toks[3]))
	}
}

func TestStem(t *testing.T) {
	cases := map[string]string{
		"attacks": "attack", "attacked": "attack", "attacking": "attack",
		"migrants": "migrant", "negotiations": "negoti", "negotiate": "negoti",
		"killed": "kill", "us": "us", "münchen": "münchen", "2015": "2015",
	}
	for in, want := range cases {
		if got := Stem(in); got != want {
			t.Errorf("Stem(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTerms(t *testing.T) {
	got := Terms("The attacks on the border continued.")
	want := []string{"attack", "border", "continu"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Terms = %q, want %q", got, want)
	}
}

func TestNameKey(t *testing.T) {
	pairs := [][2]string{
		{"syria", "syrian"}, {"syria", "syrians"}, {"hungary", "hungarian"},
		{"croatia", "croatian"}, {"china", "chinese"}, {"iraq", "iraqi"},
		{"turkey", "turkish"}, {"pakistan", "pakistani"}, {"mexico", "mexican"},
		{"russia", "russian"}, {"kurds", "kurdish"}, {"iran", "iranian"},
		{"yemen", "yemeni"}, {"italy", "italian"}, {"japan", "japanese"},
	}
	for _, p := range pairs {
		if a, b := NameKey(p[0]), NameKey(p[1]); a != b {
			t.Errorf("NameKey(%q) = %q, NameKey(%q) = %q; want equal", p[0], a, p[1], b)
		}
	}
	for _, p := range [][2]string{{"austria", "australia"}, {"iran", "iraq"}, {"paris", "parish"}} {
		if NameKey(p[0]) == NameKey(p[1]) {
			t.Errorf("NameKey(%q) = NameKey(%q) = %q; want different", p[0], p[1], NameKey(p[0]))
		}
	}
}

func TestEntities(t *testing.T) {
	cases := map[string][]string{
		"The United Nations confirms the Islamic State of Iraq and the Levant has destroyed the Temple of Bel in Palmyra, Syria.": {
			"united nations", "islamic state of iraq", "levant", "temple of bel", "palmyra", "syria"},
		"Authorities in Hungary close the Budapest Keleti railway station.": {"hungary", "budapest keleti"},
		"Al-Shabaab claims an attack south of Mogadishu.":                   {"al shabaab", "mogadishu"},
		"U.S. President Barack Obama meets NATO leaders.":                   {"us president barack obama", "nato"},
		"Germany's Angela Merkel speaks.":                                   {"germany", "angela merkel"},
		"Police arrest three men.":                                          nil,
		// Title case says nothing about names.
		"Army Retakes Key Town From Rebels After Long Siege": nil,
	}
	for in, want := range cases {
		var got []string
		for _, e := range Entities(in) {
			got = append(got, e.Key)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Entities(%q) = %q, want %q", in, got, want)
		}
	}
	es := Entities("Talks between Hungary and Serbia. Hungary objects.")
	if len(es) != 2 || es[0].Text != "Hungary" || es[1].Text != "Serbia" {
		t.Errorf("Entities dedup/surface: %+v", es)
	}
}

func TestGeneric(t *testing.T) {
	for _, w := range []string{"president", "says", "thousands", "monday"} {
		if !IsGeneric(w) {
			t.Errorf("IsGeneric(%q) = false", w)
		}
	}
	for _, w := range []string{"earthquake", "ceasefire", "migrants"} {
		if IsGeneric(w) {
			t.Errorf("IsGeneric(%q) = true", w)
		}
	}
}

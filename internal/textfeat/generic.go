package textfeat

// IsGeneric reports whether the lower-case word w is a generic news word:
// not a function word, but so common in news of every kind that sharing it
// says little about two reports being about the same thing — offices and
// titles ("president", "minister"), reporting verbs ("says", "announces"),
// vague quantities and time words ("least", "thousands", "year", "monday"),
// and number words. Offline features weigh these down; they stand in for
// the low inverse document frequency a corpus would give them.
func IsGeneric(w string) bool {
	_, ok := genericWords[w]
	return ok
}

// genericWords is an immutable lookup table of generic news words, written
// from general knowledge of news English (not from any evaluation set).
var genericWords = setOf(
	// offices, titles and institutions in general
	"president", "presidents", "presidential", "minister", "ministers",
	"ministry", "prime", "secretary", "chancellor", "official", "officials",
	"government", "governments", "leader", "leaders", "spokesman",
	"spokeswoman", "spokesperson", "head", "chief", "authorities",
	"authority", "state", "states", "national", "international", "united",
	"federal", "public", "general", "department", "office", "agency",
	"council", "committee", "member", "members", "representative",
	"representatives",
	// reporting and speech
	"say", "says", "said", "saying", "report", "reports", "reported",
	"reportedly", "reporting", "announce", "announces", "announced",
	"announcing", "claim", "claims", "claimed", "according", "state",
	"stated", "states", "tell", "tells", "told", "confirm", "confirms",
	"confirmed", "reveal", "reveals", "revealed", "describe", "described",
	"news", "sources", "source", "statement", "statements",
	// vague quantities and degree
	"least", "many", "number", "numbers", "hundreds", "thousands",
	"millions", "billions", "dozens", "hundred", "thousand", "million",
	"billion", "dozen", "some", "several", "total", "percent", "approximately",
	"about", "around", "nearly", "almost", "estimated", "large", "largest",
	"major", "new", "first", "second", "third", "last", "former", "latest",
	"recent", "current", "other", "others", "people", "persons", "person",
	"group", "groups", "part", "parts", "including", "include", "includes",
	// number words
	"two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
	"eleven", "twelve", "twenty", "thirty", "forty", "fifty", "hundred",
	// time words
	"day", "days", "week", "weeks", "month", "months", "year", "years",
	"today", "yesterday", "tomorrow", "time", "times", "earlier", "later",
	"monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
	"sunday", "january", "february", "march", "april", "june", "july",
	"august", "september", "october", "november", "december",
	// places in general
	"country", "countries", "city", "cities", "region", "regions", "area",
	"areas", "province", "town", "capital", "world", "local",
	// generic verbs
	"make", "makes", "made", "take", "takes", "took", "taken", "give",
	"gives", "gave", "given", "get", "gets", "got", "go", "goes", "went",
	"come", "comes", "came", "become", "becomes", "begin", "begins", "began",
	"use", "uses", "used", "call", "calls", "called", "hold", "holds", "held",
	"set", "sets", "show", "shows", "showed", "shown", "see", "sees", "seen",
	"find", "finds", "found", "keep", "keeps", "kept", "want", "wants",
	"way", "ways",
)

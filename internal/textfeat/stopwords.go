package textfeat

// IsStopWord reports whether w (lower-case) is an English function word:
// articles, pronouns, auxiliaries, prepositions, conjunctions and similar
// words that say nothing about what a text is about. Single letters count
// as stop words.
func IsStopWord(w string) bool {
	if len(w) == 1 {
		return true
	}
	_, ok := stopWords[w]
	return ok
}

// stopWords is an immutable lookup table: the common English function-word
// list (as in Snowball's and NLTK's lists) plus contraction fragments left by
// the tokenizer ("don't" → "don", "t").
var stopWords = setOf(
	"a", "about", "above", "across", "after", "afterwards", "again", "against",
	"all", "almost", "alone", "along", "already", "also", "although", "always",
	"am", "among", "amongst", "an", "and", "another", "any", "anyhow", "anyone",
	"anything", "anyway", "anywhere", "are", "around", "as", "at", "be",
	"became", "because", "become", "becomes", "becoming", "been", "before",
	"beforehand", "behind", "being", "below", "beside", "besides", "between",
	"beyond", "both", "but", "by", "can", "cannot", "could", "did", "do",
	"does", "doing", "done", "down", "during", "each", "either", "else",
	"elsewhere", "enough", "etc", "even", "ever", "every", "everyone",
	"everything", "everywhere", "except", "few", "for", "former", "formerly",
	"from", "further", "had", "has", "have", "having", "he", "hence", "her",
	"here", "hereafter", "hereby", "herein", "hers", "herself", "him",
	"himself", "his", "how", "however", "i", "if", "in", "indeed", "into",
	"is", "it", "its", "itself", "just", "latter", "latterly", "least", "less",
	"may", "me", "meanwhile", "might", "mine", "more", "moreover", "most",
	"mostly", "much", "must", "my", "myself", "namely", "neither", "never",
	"nevertheless", "next", "no", "nobody", "none", "noone", "nor", "not",
	"nothing", "now", "nowhere", "of", "off", "often", "on", "once", "one",
	"only", "onto", "or", "other", "others", "otherwise", "our", "ours",
	"ourselves", "out", "over", "own", "per", "perhaps", "please", "quite",
	"rather", "really", "same", "seem", "seemed", "seeming", "seems", "several",
	"she", "should", "since", "so", "some", "somehow", "someone", "something",
	"sometime", "sometimes", "somewhere", "still", "such", "than", "that",
	"the", "their", "theirs", "them", "themselves", "then", "thence", "there",
	"thereafter", "thereby", "therefore", "therein", "thereupon", "these",
	"they", "this", "those", "though", "through", "throughout", "thru", "thus",
	"to", "together", "too", "toward", "towards", "under", "unless", "until",
	"up", "upon", "us", "very", "via", "was", "we", "well", "were", "what",
	"whatever", "when", "whence", "whenever", "where", "whereafter", "whereas",
	"whereby", "wherein", "whereupon", "wherever", "whether", "which", "while",
	"whither", "who", "whoever", "whole", "whom", "whose", "why", "will",
	"with", "within", "without", "would", "yet", "you", "your", "yours",
	"yourself", "yourselves",
	// contraction fragments
	"don", "doesn", "didn", "isn", "aren", "wasn", "weren", "won", "wouldn",
	"couldn", "shouldn", "hasn", "haven", "hadn", "ll", "re", "ve",
)

func setOf(words ...string) map[string]struct{} {
	m := make(map[string]struct{}, len(words))
	for _, w := range words {
		m[w] = struct{}{}
	}
	return m
}

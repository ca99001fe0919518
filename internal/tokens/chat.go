package tokens

// Message is one message of a chat request, as far as counting goes.
type Message struct {
	Role    string // "system", "user", "assistant"
	Content string
}

// Framing of chat messages, as OpenAI's chat models bill them: every
// message is wrapped in a few tokens that mark its start, role and end, and
// the reply is primed with a few more.
const (
	PerMessage  = 3
	ReplyPrimer = 3
)

// Chat returns the prompt tokens of a chat request made of msgs for model:
// each message's role and content plus PerMessage, and ReplyPrimer once.
// For OpenAI's chat models this is the usage.prompt_tokens the API reports
// for plain text messages; a response format's JSON schema, tools and
// images add to it and are not counted here.
func Chat(model string, msgs ...Message) (int, error) {
	enc, err := ForModel(model)
	if err != nil {
		return 0, err
	}
	n := ReplyPrimer
	for _, m := range msgs {
		n += PerMessage + len(enc.EncodeOrdinary(m.Role)) + len(enc.EncodeOrdinary(m.Content))
	}
	return n, nil
}

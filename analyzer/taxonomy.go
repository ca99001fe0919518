package analyzer

// RelationType is how a prior event relates to a new event. The names are a
// contract (DESIGN.md): refine descriptions, never rename.
type RelationType string

// The taxonomy, from the seed's rationales.
const (
	Causes       RelationType = "causes"
	Continuation RelationType = "continuation"
	Escalation   RelationType = "escalation"
	DeEscalation RelationType = "de_escalation"
	Reversal     RelationType = "reversal"
	Response     RelationType = "response"
	Parallel     RelationType = "parallel"
	Duplicate    RelationType = "duplicate"
)

// TypeInfo describes one relation type for prompts and documentation.
type TypeInfo struct {
	Type        RelationType
	Description string
}

// Taxonomy lists every relation type with its description, in a stable order.
func Taxonomy() []TypeInfo {
	return []TypeInfo{
		{Causes, "the prior event caused, enabled or facilitated the New Event"},
		{Continuation, "the New Event is the next step, implementation or progression of the same ongoing sequence"},
		{Escalation, "the New Event intensifies the conflict, crisis or commitment of the prior event"},
		{DeEscalation, "the New Event eases the tension, conflict or crisis of the prior event"},
		{Reversal, "the New Event derails, undoes or contradicts what the prior event established"},
		{Response, "the New Event is an actor's reaction to the prior event"},
		{Parallel, "concurrent, related developments on separate tracks"},
		{Duplicate, "the same happening reported again"},
	}
}

// Valid reports whether t is in the taxonomy.
func (t RelationType) Valid() bool {
	for _, info := range Taxonomy() {
		if info.Type == t {
			return true
		}
	}
	return false
}

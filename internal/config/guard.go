package config

// Guardrails configures the rules applied to request and response text
// (internal/guard). Zero value: no guardrails (tiers L0 and L1).
//
// Rules are grouped in named sets; a model names the sets that apply to it
// (models[].guardrails), and a virtual key may name its own
// (auth.keys[].guardrails, or the admin API's key object). A key's sets
// replace the model's sets only where those are overridable: a set that is
// not overridable (the default) applies to every request for its model,
// whatever the key says, so a key cannot switch guardrails off unless the
// operator allowed it.
type Guardrails struct {
	// ScanLimit bounds the text an input scan covers. A request with more
	// text is rejected (413), never passed on unscanned. Default 1MiB.
	ScanLimit ByteSize `yaml:"scan_limit"`
	// Sets are the named rule sets.
	Sets []GuardrailSet `yaml:"sets"`
	// Default names the sets applied to models that name none of their
	// own, and to "provider/model" names, which have no model entry.
	// Empty: such requests are not checked.
	Default []string `yaml:"default"`
}

// GuardrailSet is a named list of rules.
type GuardrailSet struct {
	// Name is what models and keys refer to. Required, unique; letters,
	// digits, ".", "_" and "-".
	Name string `yaml:"name"`
	// Overridable lets a key that names guardrail sets of its own replace
	// this set on the models that use it. Default false.
	Overridable bool `yaml:"overridable"`
	// Rules are checked together, in one pass per kind. At least one.
	Rules []GuardrailRule `yaml:"rules"`
}

// Guardrail rule kinds.
const (
	GuardRegex       = "regex"
	GuardKeywords    = "keywords"
	GuardMaxChars    = "max_chars"
	GuardMaxMessages = "max_messages"
)

// GuardBuiltins are the builtin detector kinds.
var GuardBuiltins = []string{"credit_card", "email", "iban", "ip", "phone", "secrets", "ssn"}

// Guardrail actions and scopes.
const (
	GuardBlock  = "block"
	GuardRedact = "redact"
	GuardFlag   = "flag"

	GuardInput  = "input"
	GuardOutput = "output"
	GuardBoth   = "both"
)

// DefaultGuardMaxLen is a regex rule's default max_len.
const DefaultGuardMaxLen = 256

// MaxGuardMaxLen bounds a regex rule's max_len: the stream holdback.
const MaxGuardMaxLen = 64 << 10

// GuardrailRule is one rule.
type GuardrailRule struct {
	// Name identifies the rule in errors, metrics and logs; a redaction
	// writes [REDACTED:<NAME IN CAPITALS>]. Required, unique in its set.
	Name string `yaml:"name"`
	// Kind is regex, keywords, a builtin detector (credit_card, email,
	// iban, ip, phone, secrets, ssn), max_chars or max_messages.
	Kind string `yaml:"kind"`
	// Action is block (400 guardrail_violation), redact or flag. Default
	// block. Size rules (max_chars, max_messages) block or flag.
	Action string `yaml:"action"`
	// Scope is input (what the model reads), output (what it writes) or
	// both. Default both; size rules apply to input only.
	Scope string `yaml:"scope"`
	// Pattern is a regex rule's RE2 expression.
	Pattern string `yaml:"pattern"`
	// MaxLen is the longest match of a regex rule in bytes: a streamed reply
	// holds back this much text while it could still become a match.
	// Default 256; a longer match may be missed in a stream.
	MaxLen int `yaml:"max_len"`
	// Words are a keywords rule's literals, matched case-insensitively.
	Words []string `yaml:"words"`
	// WholeWords makes keywords match only whole words. Default true.
	WholeWords *bool `yaml:"whole_words"`
	// Limit is a size rule's bound: characters of input text (max_chars)
	// or messages (max_messages).
	Limit int `yaml:"limit"`
}

func applyGuardDefaults(g *Guardrails) {
	setDefault(&g.ScanLimit, DefaultScanLimit)
	for i := range g.Sets {
		for j := range g.Sets[i].Rules {
			r := &g.Sets[i].Rules[j]
			setDefault(&r.Action, GuardBlock)
			if r.Kind == GuardMaxChars || r.Kind == GuardMaxMessages {
				setDefault(&r.Scope, GuardInput)
			} else {
				setDefault(&r.Scope, GuardBoth)
			}
			if r.Kind == GuardRegex {
				setDefault(&r.MaxLen, DefaultGuardMaxLen)
			}
			if r.Kind == GuardKeywords && r.WholeWords == nil {
				t := true
				r.WholeWords = &t
			}
		}
	}
}

// DefaultScanLimit is guardrails.scan_limit's default.
const DefaultScanLimit ByteSize = 1 << 20

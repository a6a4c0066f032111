package detect

import (
	"errors"
	"fmt"
	"strings"
)

// Match is the half-open byte range [Start, End) of one match in a text.
type Match struct{ Start, End int }

// Finder finds the matches of one detector.
type Finder interface {
	// Find appends to dst the matches in text: non-overlapping, ordered by
	// Start, leftmost-first. It never allocates beyond growing dst, and never
	// panics on any input (invalid UTF-8 included).
	Find(text []byte, dst []Match) []Match
	// MaxLen is at least the longest match Find can ever report, in bytes,
	// plus the context it looks at beyond a match; it is finite for every
	// finder. Matches of a window text[a:b] within [a+MaxLen, b-MaxLen] are
	// those of the whole text (see the package documentation).
	MaxLen() int
	// Pending returns where the undecided tail of text begins: a point p,
	// len(text)-MaxLen() <= p <= len(text), such that no match starting
	// before p can change when more text is appended: every match of
	// Find(text + any suffix) that starts before p is a match of Find(text)
	// with the same end, and vice versa. text[p:] is the tail that could
	// still become (part of) a match. Detectors answer from their grammar,
	// for candidates rather than matches (see the package documentation), so
	// an earlier undecided candidate that could still hide a later one holds
	// p back too. A smaller p would also be correct, but holds back more.
	Pending(text []byte) int
	// LeftContext bounds how far left of a match the text that makes it
	// one begins (1 where that is a boundary byte). With Pending it gives
	// streams a cheap test for clean text: when Find(text[a:b]) reports
	// nothing, no match of the whole text, however it goes on after b,
	// starts in [a+LeftContext(), a+Pending(text[a:b])) (in
	// [0, Pending(text[:b])) when a is 0). See the package documentation,
	// "Quiet windows".
	LeftContext() int
	// Anchors returns bytes of which every match Find reports holds at
	// least one (as text, not as a pattern): a text with none of them has no
	// match. Empty when the finder names none. Callers use it to skip the
	// work of finding the text to scan when a cheap search of the raw input
	// finds none of these bytes.
	Anchors() string
}

// builtin is a hand-written scanner with a fixed maximum match length.
type builtin struct {
	find    func(text []byte, dst []Match) []Match
	pending func(text []byte) int // the earliest open candidate start, or len(text)
	maxLen  int                   // longest match, without context
	left    int                   // LeftContext
	anchors string                // Anchors
}

var _ Finder = builtin{}

func (b builtin) Find(text []byte, dst []Match) []Match { return b.find(text, dst) }
func (b builtin) MaxLen() int                           { return b.maxLen + 2 }
func (b builtin) LeftContext() int                      { return b.left }
func (b builtin) Anchors() string                       { return b.anchors }

// Pending bounds the detector's answer by MaxLen: a match starting before
// len(text)-MaxLen() is decided by the text already there.
func (b builtin) Pending(text []byte) int {
	return max(b.pending(text), len(text)-b.MaxLen(), 0)
}

// Builtin returns the builtin detector with the given name (see
// BuiltinNames), or false for an unknown name. The package documentation
// says what each one matches.
func Builtin(name string) (Finder, bool) {
	switch name {
	case "email":
		return builtin{findEmail, pendingEmail, emailMaxLen, 1, "@"}, true
	case "phone":
		return builtin{findPhone, pendingPhone, phoneMaxLen, 1, digits}, true
	case "ssn":
		return builtin{findSSN, pendingSSN, ssnMaxLen, 1, digits}, true
	case "credit_card":
		return builtin{findCard, pendingCard, cardMaxLen, 1, digits}, true
	case "iban":
		return builtin{findIBAN, pendingIBAN, ibanMaxLen, 1, digits}, true
	case "ip":
		return builtin{findIP, pendingIP, ipMaxLen, 1, digits + ":"}, true
	case "secrets":
		return builtin{findSecrets, pendingSecrets, secretsMaxLen, maxAssignLeft, ""}, true
	}
	return nil, false
}

// digits anchor the detectors whose matches hold digits: an SSN, a card or
// phone number, an IBAN's check digits, an IPv4 address (an IPv6 address
// holds ':'). Secrets name no anchors: their forms share no byte.
const digits = "0123456789"

// BuiltinNames returns the names Builtin accepts, sorted.
func BuiltinNames() []string {
	return []string{"credit_card", "email", "iban", "ip", "phone", "secrets", "ssn"}
}

// KeywordOptions configures NewKeywords.
type KeywordOptions struct {
	// WholeWords makes a keyword match only between non-word boundaries
	// (a word byte is an ASCII letter, digit or '_'). False matches anywhere.
	WholeWords bool
}

// MaxKeywordLen is the longest keyword NewKeywords accepts, in bytes.
const MaxKeywordLen = 256

// ErrBadKeywords is wrapped by every error NewKeywords returns.
var ErrBadKeywords = errors.New("invalid keyword list")

// NewKeywords returns a Finder for the given literals, matched in one pass
// and ASCII case-insensitively (see the package documentation). It fails
// with ErrBadKeywords on an empty list, an empty or white-space-only word,
// or a word longer than MaxKeywordLen bytes. The words are not retained.
func NewKeywords(words []string, opts KeywordOptions) (Finder, error) {
	if len(words) == 0 {
		return nil, fmt.Errorf("%w: empty list", ErrBadKeywords)
	}
	for i, w := range words {
		if strings.TrimSpace(w) == "" {
			return nil, fmt.Errorf("%w: word %d is empty", ErrBadKeywords, i)
		}
		if len(w) > MaxKeywordLen {
			return nil, fmt.Errorf("%w: word %d is %d bytes, more than %d", ErrBadKeywords, i, len(w), MaxKeywordLen)
		}
	}
	return newAutomaton(words, opts, denseLimit), nil
}

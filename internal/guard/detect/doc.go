// Package detect finds sensitive values in text for Sluice's guardrails:
// hand-written single-pass scanners for e-mail addresses, phone numbers, US
// SSNs, payment cards, IBANs, IP addresses and secrets, and a keyword
// matcher (Aho–Corasick) for operator-configured word lists. Package guard
// builds rules, input scanning and the streaming scanner on top of it.
//
// # Contract
//
// A [Finder] appends its matches, half-open byte ranges, to a caller's
// slice: ordered, non-overlapping, never empty. Find does not allocate
// beyond growing that slice, does not panic on any input (invalid UTF-8
// included: every byte >= 0x80 is simply not a letter, digit or word byte,
// so it is a boundary), keeps no state between calls and is safe for
// concurrent use. Every scan is linear in the text: each detector bounds
// the bytes it looks at per candidate and never rescans a run.
//
// Failure modes: Builtin reports false for an unknown name; NewKeywords
// returns an error wrapping [ErrBadKeywords] for an empty list, an empty or
// white-space-only word, or a word longer than [MaxKeywordLen]. Nothing
// else fails; a detector that cannot decide does not match.
//
// # Locality and MaxLen
//
// MaxLen is at least the longest match plus 2, and whether a match
// starting at s is reported, and where it ends, depends only on
// text[s-MaxLen : s+MaxLen]. Hence the window property the streaming
// scanner relies on: for any window text[a:b], the matches of
// Find(text[a:b]) that lie within [a+MaxLen, b-MaxLen] (shifted by a) are
// exactly the matches of Find(text) there. Holding back MaxLen-1 bytes and
// keeping MaxLen bytes of scanned context is therefore enough to find every
// match of a stream, chunk boundaries or not; Pending lets a stream hold
// back far less.
//
// The looks are short: one byte either side of a match (two after some
// domains and numbers, to tell "x.com." from "x.com.au"), the rest of a
// bounded group or label, and the candidates that overlap this one. A
// match is never glued to a longer token of its own kind: the byte before
// and after may not be a letter or digit (and, per detector, '_', '.', '-'
// or '@').
//
// Overlaps: detectors gather candidates (for each start, the longest valid
// reading) and report one unless it starts inside an earlier candidate.
// Deciding by candidates, not by what was reported, keeps the outcome local:
// a greedy "skip past the last match" lets a chain of overlapping candidates
// carry a decision arbitrarily far. The cost is confined to crafted chains
// (three or more overlapping valid card numbers or IBANs): a later one may
// go unreported. Keywords, which have no validity rule, report the uncovered
// part of an overlapping occurrence instead, so that redacting the matches
// leaves no occurrence visible ("haha" in "hahahaha" gives haha|ha|ha).
//
// # Pending
//
// Pending(text) says where the undecided tail of a text begins: no match
// starting before it changes, whatever text is appended. Each detector
// answers from its grammar, for candidates rather than matches: the start
// of the earliest candidate that more text could create, extend, cut or
// rule out, so that a candidate still open also holds back the later ones
// it could hide. An outcome is decided once it no longer depends on a byte
// past the end (a boundary byte after a match counts). The answer is never
// below len(text)-MaxLen, where locality decides everything. Per detector:
//
//   - email: the trailing run of local-part bytes when it could still be a
//     local part (at most 64 bytes, no leading or doubled dot), since an
//     '@' may follow; and any address, or would-be address, whose domain or
//     the byte or two after it reaches the end ("ann@x.io" may go on,
//     "ann@x.io." may become "ann@x.io.uk").
//   - ssn, credit_card, iban: the earliest start, after a boundary byte, of
//     a viable prefix of the grammar (digits, groups and separators so far,
//     with the ranges, issuer prefixes, country codes and check digits that
//     are already known), or of a complete value whose next byte is still to
//     come.
//   - phone, ip: the earliest start whose reading looked past the end (the
//     scanners read through atp, which notes it), and for ip also a
//     trailing run of up to four hex digits that a separator may follow.
//   - secrets: the trailing run of a key's alphabet that is a viable
//     prefix of sk-…, AKIA/ASIA…, ghp_ (gho_ ghu_ ghs_ ghr_)… or
//     github_pat_… (a key still growing, below the 256-byte cut); a JWT from
//     "e", "ey", "eyJ" on whose segments are still growing; a PEM block from
//     "-" up to "-----BEGIN <label>-----" with no END line (or "-----") yet,
//     within 8 KiB; an assignment's value that reaches the end (a quote not
//     yet closed, an unquoted run not yet ended), within 256 bytes. A key
//     name or separator at the end holds nothing: the value starts after it.
//   - keywords: the longest suffix of the text that is a proper prefix of a
//     keyword (the automaton's state, down its failure links), or, with
//     WholeWords, a whole keyword whose right boundary is still to come.
//
// Prose that ends in a finished word or punctuation is decided at once;
// prose that ends in a word holds back that word for email (it could be a
// local part), a word of up to two letters for iban (a country code), a
// word of hex digits for ip, and a prefix of a key for secrets. Over
// typical replies (testdata/replies) streamed a token at a time that is
// 2 to 4 bytes per token on average.
//
// # Quiet windows
//
// LeftContext bounds how far left of a match the text that makes it one
// begins: one byte (its boundary) for every builtin but secrets, 47 for
// secrets (an assignment's key, separator and blanks before its value),
// the longest keyword for keywords (an occurrence that overlaps an earlier
// one is reported from the earlier one's end). Since the first candidate of
// any text is always reported, a window text[a:b] in which Find reports
// nothing holds no candidate; so no match of the whole text, however it
// goes on, starts in [a+LeftContext, a+Pending(text[a:b])). A stream tests
// a few bytes per event this way instead of rescanning MaxLen bytes of
// context (8 KiB for secrets).
//
// # Detectors
//
// email (MaxLen 256: addresses of at most 254 bytes): local@domain, the
// local part 1-64 bytes of letters, digits and . _ % + - (no leading,
// trailing or doubled dot), the domain two or more labels of letters,
// digits and inner hyphens (1-63 bytes each, 253 in all) with a final
// label (TLD) of 2+ letters. The local part is the whole run of such bytes
// before '@', so "email=ann@x.io" and "'ann@x.io'" match the address. Not
// matched: quoted local parts, IP-literal domains, non-ASCII addresses,
// single-label domains (user@localhost), numeric TLDs, addresses glued to
// '@', '_' or a local-part byte after them ("a@b.com+c@d.com" reports only
// "b.com+c@d.com"; a trailing '.' is sentence punctuation).
//
// phone (MaxLen 34: at most 32 bytes): international numbers, '+' and a
// first digit 1-9 then digit groups joined by single spaces, dashes or dots
// with at most one parenthesised group of 1-4 digits, 8-15 digits in all
// (+44 20 7946 0958, +44 (0)20 7946 0958, +4915112345678; past 15 digits
// the longest prefix of whole groups that fits); North American numbers
// with an area code starting 2-9: (555) 123-4567, (555)123-4567,
// 555-123-4567, 555.123.4567, 555 123 4567, optionally after "1" and the
// same separator. Not matched: digit runs without '+' or separators (IDs,
// timestamps, card numbers), 7-digit local numbers, national formats such
// as 020 7946 0958 or 0044 …, numbers glued to letters or to a longer
// dashed or dotted number (12-555-123-4567, 555-123-4567-89). Dates
// (2024-01-15), card groups and SSNs never have these shapes.
//
// ssn (MaxLen 13: 11 bytes): AAA-GG-SSSS or AAA GG SSSS with the same
// separator twice; area 000, 666 and 900-999, group 00 and serial 0000 are
// invalid and not matched. Nine digits in a row are not matched (too many
// order numbers look like that), nor numbers glued to '-' or a word byte.
//
// credit_card (MaxLen 25: 23 bytes): 13-19 digits in a row, or grouped
// 4-4-4-4, 4-4-4-4-3, 4-6-5 (Amex) or 4-6-4 (Diners) with one single space
// or dash throughout; the Luhn check must pass and the number must start
// like a card network's: 4, 5, 6, 3 except 31-33, 2200-2204 or 2221-2720.
// A card followed by more groups (an expiry, "4111 1111 1111 1111 12/25")
// still matches; when both 16 and 19 digits are valid the longer wins.
// Not matched: numbers starting 0, 1, 7, 8 or 9 (millisecond timestamps,
// IDs), other groupings, mixed separators, runs glued to a letter, digit,
// '_' or a preceding '.' (decimals).
//
// iban (MaxLen 44: 42 bytes): a country of the SWIFT IBAN registry (89
// countries), two check digits 02-98 and the BBAN, with exactly the
// country's length, either run together or printed in groups of four
// separated by single spaces; the ISO 7064 mod-97 remainder must be 1
// (computed incrementally in 64-bit arithmetic). Letters of either case.
// Not matched: unknown countries, wrong lengths or check digits, other
// groupings, IBANs glued to a letter or digit.
//
// ip (MaxLen 47: 45 bytes): IPv4 dotted quads with octets 0-255 written
// without leading zeros (a quad with "010" is ambiguous, octal to some
// parsers, and is not matched at all); IPv6 in full or compressed form
// with one "::", optionally ending in an IPv4 address (::ffff:10.0.0.1).
// Ports, CIDR suffixes, brackets and zone ids are not part of the match.
// Four-part version numbers with parts up to 255 (4.1.2.0) are
// indistinguishable and do match. Not matched: 1.2.3.4.5, v1.2.3.4, times
// (12:30:45), MAC addresses,
// compressed forms without a decimal digit (C++ "a::b", "dead::beef", a
// bare "::"), a second "::", more than eight groups.
//
// secrets (MaxLen 8194: 8 KiB): OpenAI-style keys, "sk-" then 20 or more
// of [A-Za-z0-9_-] including a letter and a digit (sk-proj-…, sk-ant-…
// Anthropic keys, sk-svcacct-…); AWS access key ids, AKIA or ASIA then 16
// of [A-Z0-9]; GitHub tokens, ghp_ gho_ ghu_ ghs_ ghr_ then 36 or more
// letters and digits, or github_pat_ then 22 or more of [A-Za-z0-9_]; JWTs,
// three base64url segments of at least 10, 2 and 1 bytes, the first
// starting "eyJ"; PEM private-key blocks, "-----BEGIN <label>-----" with a
// label ending PRIVATE KEY or PRIVATE KEY BLOCK, through the matching END
// line, or without one through the body up to the next "-----" (so an
// unterminated key is still covered); and the value, only, of an
// assignment to a secret-named key: password=…, "api_key": "…",
// DB_PASSWORD = '…', client_secret => '…'. The key is any name ending
// (case ignored, '-' read as '_') in password, passwd, pwd, passphrase,
// secret, api_key, apikey, access_key, accesskey, secret_key, secretkey,
// private_key, privatekey, accesstoken, authtoken or _token; then an
// optional closing quote, up to 16 blanks, ':' ':=' '=' or '=>', up to 16
// blanks, an optional quote. A quoted value runs to its closing quote on
// the line; an unquoted one to a blank, quote, backslash or , ; & < > ) ] }.
// Tokens are whole words; keys and GitHub tokens are cut at 256 bytes, JWTs
// and PEM blocks at 8 KiB, assignment values at 256, so that padding cannot
// hide a secret. Not matched: key names without a separator
// (--password x), a bare "token:" (too common in prose), comparisons
// (password == x), values of white space only, after "key: " an unquoted
// value of letters only shorter than 12 bytes (prose: "Here's the secret: practice."; "password: hunter2"
// and "password=letmein" do match), certificates and public keys, other
// providers' key formats.
//
// # Keywords
//
// NewKeywords matches many literals in one pass with an Aho–Corasick
// automaton built once: ASCII letters fold case, other bytes (UTF-8 text
// included) compare exactly. At each start the longest keyword wins; with
// WholeWords a keyword matches only where the bytes before and after it are
// not word bytes (ASCII letter, digit, '_'), taken literally, so "c++" does
// not match in "c++11". Words are used as given (not trimmed). MaxLen is
// the longest keyword plus 2. The automaton is a full DFA (one table load
// per byte) up to 4 Mi transitions (16 MiB; 1,000 words of 12 letters need
// about 0.3 Mi); larger sets keep the trie with failure links, slower but
// as small as the words. Time is linear in the text for a given word set:
// per byte one transition, plus, with WholeWords, a walk down the keywords
// that are suffixes of one another.
package detect

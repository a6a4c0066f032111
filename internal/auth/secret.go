package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"math/big"
	"strings"
)

const (
	// SecretPrefix starts every generated secret.
	SecretPrefix = "sk-sluice-"
	// secretBytes is how much randomness a generated secret carries.
	secretBytes = 32
	// secretDigits is the fixed width of secretBytes in base62:
	// ceil(256 / log2(62)).
	secretDigits = 43
	// PrefixLen is the length of a generated key's display prefix:
	// SecretPrefix and four characters of the random part (24 bits, enough
	// to tell keys apart in a list, far too few to help guess one).
	PrefixLen = len(SecretPrefix) + 4
	// MaxSecretLen bounds the secret Authenticate hashes: longer values are
	// unknown at once, so a 64 KB header costs no more than a short one.
	// Static keys are at most config.MaxStaticKeyLen, which is not larger.
	MaxSecretLen = 1024
	// idPrefix starts the id of a key created through the admin API;
	// static keys may not use it.
	idPrefix = "key_"
)

// Generate returns a new secret, SecretPrefix + 43 base62 characters of 32
// crypto-random bytes, and its display prefix (the first PrefixLen
// characters). It fails only if the system's random source does.
func Generate() (secret, prefix string, err error) {
	s, err := randomBase62(secretBytes, secretDigits)
	if err != nil {
		return "", "", err
	}
	secret = SecretPrefix + s
	return secret, secret[:PrefixLen], nil
}

// Hash is the stored form of a secret: its SHA-256.
func Hash(secret []byte) [32]byte { return sha256.Sum256(secret) }

// newID returns a key id: "key_" + 22 base62 characters (128 random bits).
func newID() (string, error) {
	s, err := randomBase62(16, 22)
	if err != nil {
		return "", err
	}
	return idPrefix + s, nil
}

// randomBase62 returns n random bytes in base62, left-padded with '0' to
// width digits.
func randomBase62(n, width int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("auth: random source: %w", err)
	}
	s := new(big.Int).SetBytes(b).Text(62)
	if len(s) < width {
		s = strings.Repeat("0", width-len(s)) + s
	}
	return s, nil
}

// staticPrefix is the display prefix of a static key: a third of it, at
// most 8 characters, so that a short static key is never shown whole.
func staticPrefix(key string) string {
	return key[:min(len(key)/3, 8)]
}

package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// The helpers below return "" when a value is fine, else a message for an
// Error. Messages quote addresses, names and file paths, never URLs (which
// may carry credentials) or secrets.

// hostPortProblem checks a listen address: host:port with a numeric port;
// the host may be empty (all interfaces).
func hostPortProblem(s string) string {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Sprintf("invalid address %q: want host:port, such as \"127.0.0.1:8080\"", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Sprintf("invalid port %q in %q: want a number from 0 to 65535", port, s)
	}
	if strings.ContainsAny(host, " \t/?#@") {
		return fmt.Sprintf("invalid host %q in %q", host, s)
	}
	return ""
}

// urlProblem checks an absolute http or https URL. A base URL must also
// carry no credentials (keys go in api_keys, where they are redacted) and no
// query string (client paths are appended to it).
func urlProblem(s string, base bool) string {
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			return "not a valid URL: " + ue.Err.Error()
		}
		return "not a valid URL"
	}
	switch {
	case u.Scheme == "":
		return "want an absolute URL starting with http:// or https://"
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Sprintf("unsupported scheme %q: want http or https", u.Scheme)
	case u.Opaque != "" || u.Hostname() == "":
		return "the URL has no host: want http://HOST[:PORT][/PATH]"
	case u.Fragment != "" || strings.Contains(s, "#"):
		return "the URL must not have a fragment (#...)"
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Sprintf("invalid port %q in the URL", p)
		}
	}
	if base {
		if u.User != nil {
			return "the URL must not contain credentials: put keys in api_keys"
		}
		if u.RawQuery != "" || u.ForceQuery {
			return "the URL must not have a query string (?...)"
		}
	}
	return ""
}

// fileProblem checks that path names a readable regular file.
func fileProblem(path string) string {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Sprintf("file %q does not exist", path)
		}
		return fmt.Sprintf("cannot read %q: %v", path, unwrapPath(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Sprintf("cannot read %q: %v", path, unwrapPath(err))
	}
	if !st.Mode().IsRegular() {
		return fmt.Sprintf("%q is not a regular file", path)
	}
	return ""
}

// dirProblem checks a directory Sluice creates when missing: it is fine if
// it does not exist yet, but not if something else is there.
func dirProblem(path string) string {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return ""
	case err != nil:
		return fmt.Sprintf("cannot use %q: %v", path, unwrapPath(err))
	case !st.IsDir():
		return fmt.Sprintf("%q exists and is not a directory", path)
	}
	return ""
}

// caFileProblem checks that path holds at least one PEM certificate.
func caFileProblem(path string) string {
	if msg := fileProblem(path); msg != "" {
		return msg
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("cannot read %q: %v", path, unwrapPath(err))
	}
	if !x509.NewCertPool().AppendCertsFromPEM(data) {
		return fmt.Sprintf("no PEM certificates in %q", path)
	}
	return ""
}

// keyPairProblem checks that the files hold a matching certificate and key.
func keyPairProblem(certFile, keyFile string) string {
	if _, err := tls.LoadX509KeyPair(certFile, keyFile); err != nil {
		return fmt.Sprintf("invalid certificate and key pair: %v", unwrapPath(err))
	}
	return ""
}

// unwrapPath drops the "open PATH:" prefix of a *fs.PathError, since the
// message quotes the path already.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// validName reports whether s is a provider name: letters, digits, ".",
// "_" and "-". Names appear in "provider/model" references, logs and metric
// labels, so "/" and spaces are out.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '.' || c == '_' || c == '-' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
			return false
		}
	}
	return true
}

// printableASCII reports whether s is non-empty visible ASCII, with no
// spaces: what a key, a token or a model name sent in a header or JSON must be.
func printableASCII(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// validHeaderName reports whether s is an HTTP field name (RFC 9110 token).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

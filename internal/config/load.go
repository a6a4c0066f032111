package config

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"reflect"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// Load reads the YAML file at path and builds a Config from it, expanding
// ${VAR} references from the process environment. See Parse.
//
// An unreadable file is an ordinary wrapped error; problems in the file's
// content are Errors.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data, os.LookupEnv)
}

// LoadWithHash is Load that also returns the hash of the file's bytes
// (Hash), which names the config in sluice_config_info and tells a reload
// whether the file changed.
func LoadWithHash(path string) (*Config, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("config: %w", err)
	}
	c, err := Parse(path, data, os.LookupEnv)
	return c, Hash(data), err
}

// FileHash is the Hash of the file at path.
func FileHash(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("config: %w", err)
	}
	return Hash(data), nil
}

// Hash identifies a config file's content: the first 16 hex digits of the
// SHA-256 of its bytes.
func Hash(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}

// Parse builds a Config from YAML text: it parses data, decodes it into the
// typed tree (unknown fields, wrong types and duplicate keys are problems),
// expands ${VAR} and ${VAR:-default} in scalar values with lookupEnv (nil
// means an empty environment), applies defaults and validates the result.
//
// A scalar that is empty after expansion is "not configured": its field
// keeps its zero value, so the default applies, and a list entry or map
// value that is empty is dropped.
//
// When anything is wrong Parse returns a nil Config and an Errors holding
// every problem it found, sorted by position and labelled with filename.
func Parse(filename string, data []byte, lookupEnv func(string) (string, bool)) (*Config, error) {
	if lookupEnv == nil {
		lookupEnv = func(string) (string, bool) { return "", false }
	}
	f, err := parseYAML(data)
	if err != nil {
		return nil, Errors{syntaxError(filename, err)}
	}
	d := newDecoder(filename, lookupEnv)
	var c Config
	root := pos{1, 1}
	if len(f.Docs) > 1 {
		d.errAt(docPos(f.Docs[1]), "", "found a second YAML document; a config file holds one")
	}
	if len(f.Docs) > 0 && f.Docs[0] != nil && f.Docs[0].Body != nil {
		body := f.Docs[0].Body
		if p := nodePos(body); p != (pos{}) {
			root = p
		}
		anchors := map[string]ast.Node{}
		d.collectAnchors(body, anchors)
		d.decode(body, reflect.ValueOf(&c).Elem(), "", root)
	}
	d.pos[""] = root
	applyDefaults(&c, func(path string) bool { return d.set[path] })
	v := validator{file: filename, pos: d.pos, bad: d.bad, emptied: d.emptied}
	v.validate(&c)
	errs := append(d.errs, v.errs...).sorted()
	dropped := d.dropped + v.dropped
	if len(errs) > maxErrors {
		dropped += len(errs) - maxErrors
		errs = errs[:maxErrors]
	}
	if dropped > 0 {
		errs = append(errs, Error{File: filename, Msg: fmt.Sprintf("and %d more problems", dropped)})
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return &c, nil
}

// parseYAML parses data into an AST. Duplicate keys are let through the
// parser so that the decoder reports all of them, with positions, rather
// than the parser stopping at the first.
//
// The parser is third-party code fed with operator (and fuzzer) input; a
// panic inside it is turned into an error so that a bad file can never
// crash the process.
func parseYAML(data []byte) (f *ast.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("invalid YAML (the parser failed: %v)", r)
		}
	}()
	return parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey())
}

// syntaxError turns a YAML parser error into an Error at its position.
func syntaxError(file string, err error) Error {
	var ye yaml.Error
	if errors.As(err, &ye) {
		e := Error{File: file, Msg: "invalid YAML: " + ye.GetMessage()}
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			e.Line, e.Col = tk.Position.Line, tk.Position.Column
		}
		return e
	}
	return Error{File: file, Line: 1, Col: 1, Msg: err.Error()}
}

func docPos(doc *ast.DocumentNode) pos {
	if doc == nil {
		return pos{}
	}
	if doc.Start != nil && doc.Start.Position != nil {
		return pos{doc.Start.Position.Line, doc.Start.Position.Column}
	}
	if doc.Body != nil {
		return nodePos(doc.Body)
	}
	return pos{}
}

// Command sbom writes a CycloneDX 1.5 SBOM (JSON) for a Go binary from the
// build information the Go toolchain embedded in it: the same module list
// `go version -m BINARY` prints, with versions, go.sum hashes and
// replacements, and the build settings (flags, GOOS/GOARCH, VCS commit).
// `make release` runs it for every release binary (docs/releases.md).
//
//	go run ./tools/sbom [--version V] BINARY > BINARY.cdx.json
//
// The document depends on the binary alone: no clock, no random serial
// number (the timestamp is the commit's time), so rebuilding a release
// rebuilds its SBOM byte for byte. It fails when the binary carries no
// build information (not a Go binary, or stripped of it).
package main

import (
	"runtime/debug"
	"strings"
)

// The subset of CycloneDX 1.5 this tool writes
// (https://cyclonedx.org/docs/1.5/json/).
type (
	bom struct {
		BOMFormat    string       `json:"bomFormat"`
		SpecVersion  string       `json:"specVersion"`
		Version      int          `json:"version"`
		Metadata     metadata     `json:"metadata"`
		Components   []component  `json:"components"`
		Dependencies []dependency `json:"dependencies"`
	}
	metadata struct {
		Timestamp string    `json:"timestamp,omitempty"`
		Tools     tools     `json:"tools"`
		Component component `json:"component"`
	}
	tools struct {
		Components []component `json:"components"`
	}
	component struct {
		Type       string     `json:"type"`
		BOMRef     string     `json:"bom-ref,omitempty"`
		Name       string     `json:"name"`
		Version    string     `json:"version,omitempty"`
		PURL       string     `json:"purl,omitempty"`
		Hashes     []hash     `json:"hashes,omitempty"`
		Properties []property `json:"properties,omitempty"`
	}
	hash struct {
		Alg     string `json:"alg"`
		Content string `json:"content"`
	}
	property struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}
	dependency struct {
		Ref       string   `json:"ref"`
		DependsOn []string `json:"dependsOn"`
	}
)

// Property names. go.sum's h1: hash is a hash of the module's file tree,
// not of one artifact, so it is a property and not a CycloneDX hash.
const (
	propSum      = "golang:sum"
	propReplaces = "golang:replaces"
	propGo       = "golang:go"
	propPackage  = "golang:package"
	propBuild    = "golang:build:" // + the setting's key
)

// build makes the SBOM of a binary whose build information is bi and
// whose SHA-256 is sha256Hex. version, when not empty, is the release's
// version (make release's -X main.version) and replaces the module's.
func build(bi *debug.BuildInfo, version, sha256Hex string) bom {
	mainVersion := bi.Main.Version
	if version != "" {
		mainVersion = version
	}
	name := bi.Path[strings.LastIndex(bi.Path, "/")+1:]
	app := component{
		Type:    "application",
		BOMRef:  purl(bi.Main.Path, mainVersion),
		Name:    name,
		Version: mainVersion,
		PURL:    purl(bi.Main.Path, mainVersion),
		Properties: []property{
			{Name: propPackage, Value: bi.Path},
			{Name: propGo, Value: bi.GoVersion},
		},
	}
	if sha256Hex != "" {
		app.Hashes = []hash{{Alg: "SHA-256", Content: sha256Hex}}
	}
	timestamp := ""
	for _, s := range bi.Settings {
		app.Properties = append(app.Properties, property{Name: propBuild + s.Key, Value: s.Value})
		if s.Key == "vcs.time" {
			timestamp = s.Value
		}
	}
	doc := bom{
		BOMFormat:   "CycloneDX",
		SpecVersion: "1.5",
		Version:     1,
		Metadata: metadata{
			Timestamp: timestamp,
			Tools:     tools{Components: []component{{Type: "application", Name: "sluice tools/sbom"}}},
			Component: app,
		},
		Components: []component{},
	}
	root := dependency{Ref: app.BOMRef, DependsOn: []string{}}
	for _, m := range bi.Deps {
		c := module(m)
		doc.Components = append(doc.Components, c)
		root.DependsOn = append(root.DependsOn, c.BOMRef)
	}
	// The build information lists the modules linked in, not who requires
	// whom: the application depends on all of them, flat.
	doc.Dependencies = []dependency{root}
	return doc
}

// module is a dependency's component: the module actually compiled in
// (the replacement, when there is one), naming the one it replaces.
func module(m *debug.Module) component {
	used := m
	if m.Replace != nil {
		used = m.Replace
	}
	c := component{
		Type:    "library",
		BOMRef:  purl(used.Path, used.Version),
		Name:    used.Path,
		Version: used.Version,
		PURL:    purl(used.Path, used.Version),
	}
	if used.Sum != "" {
		c.Properties = append(c.Properties, property{Name: propSum, Value: used.Sum})
	}
	if m.Replace != nil {
		c.Properties = append(c.Properties, property{Name: propReplaces, Value: m.Path + "@" + m.Version})
		if used.Version == "" {
			// A replacement by a local directory has no version; its
			// path is a file path, not a module path.
			c.BOMRef = "file:" + used.Path
			c.PURL = ""
		}
	}
	return c
}

// purl is the package URL of a Go module: pkg:golang/PATH@VERSION, each
// path segment and the version percent-encoded (a version's "+", as in
// +incompatible, becomes %2B).
func purl(path, version string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		segs[i] = escape(s)
	}
	p := "pkg:golang/" + strings.Join(segs, "/")
	if version != "" {
		p += "@" + escape(version)
	}
	return p
}

// escape percent-encodes all but the unreserved characters of RFC 3986.
func escape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

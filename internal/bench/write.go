package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Files Write creates in its directory, besides the charts.
const (
	ResultsFile  = "results.json"
	MarkdownFile = "report.md"
	HTMLFile     = "report.html"
)

// Write writes results.json, report.md, report.html and the SVG charts into dir,
// creating it if needed, and returns the paths written.
func Write(dir string, res *Results) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	v := newView(res)
	files := map[string][]byte{}
	var order []string
	add := func(name string, b []byte) {
		files[name] = b
		order = append(order, name)
	}
	js, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("bench: encode results: %w", err)
	}
	add(ResultsFile, append(js, '\n'))
	var md, page bytes.Buffer
	if err := v.markdown(&md); err != nil {
		return nil, fmt.Errorf("bench: render %s: %w", MarkdownFile, err)
	}
	add(MarkdownFile, md.Bytes())
	if err := v.html(&page); err != nil {
		return nil, fmt.Errorf("bench: render %s: %w", HTMLFile, err)
	}
	add(HTMLFile, page.Bytes())
	for _, c := range v.charts {
		add(c.file, []byte(c.svg))
	}
	var paths []string
	for _, name := range order {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, files[name], 0o644); err != nil {
			return paths, fmt.Errorf("bench: %w", err)
		}
		paths = append(paths, p)
	}
	return paths, nil
}

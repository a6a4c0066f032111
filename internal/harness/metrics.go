package harness

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Metrics is one scrape of a Prometheus text exposition: every sample
// line as its series (name and labels, as written) and value.
type Metrics map[string]float64

// ParseMetrics reads the text format (comments and blank lines skipped;
// a timestamp after the value is ignored).
func ParseMetrics(r io.Reader) (Metrics, error) {
	m := Metrics{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		// The series ends at the last '}' when there are labels (label
		// values may hold spaces), else at the first space.
		var series, rest string
		if i := strings.LastIndexByte(line, '}'); i >= 0 {
			series, rest = line[:i+1], line[i+1:]
		} else if i := strings.IndexByte(line, ' '); i >= 0 {
			series, rest = line[:i], line[i:]
		} else {
			return nil, fmt.Errorf("harness: metrics line %d: no value: %q", n, line)
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return nil, fmt.Errorf("harness: metrics line %d: no value: %q", n, line)
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return nil, fmt.Errorf("harness: metrics line %d: %w", n, err)
		}
		m[series] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("harness: metrics: %w", err)
	}
	return m, nil
}

// Sum adds the samples of metric name whose labels include every
// name="value" pair of match (match may be empty: every sample). NaN
// when there is none.
func (m Metrics) Sum(name string, match ...string) float64 {
	sum, found := 0.0, false
	for series, v := range m {
		n, labels, _ := strings.Cut(series, "{")
		if n != name {
			continue
		}
		ok := true
		for _, want := range match {
			if !hasLabel(labels, want) {
				ok = false
				break
			}
		}
		if ok {
			sum += v
			found = true
		}
	}
	if !found {
		return math.NaN()
	}
	return sum
}

// hasLabel reports whether labels (`a="x",b="y"}`) hold the pair want
// (`a="x"`), as a whole pair.
func hasLabel(labels, want string) bool {
	for i := 0; ; {
		j := strings.Index(labels[i:], want)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(want)
		startOK := j == 0 || labels[j-1] == ','
		endOK := end < len(labels) && (labels[end] == ',' || labels[end] == '}')
		if startOK && endOK {
			return true
		}
		i = j + 1
	}
}

package config

import (
	"github.com/goccy/go-yaml/ast"
	"reflect"
	"strings"
	"testing"
)

// decodeInto runs the decoder on src into v (a pointer) and returns the
// problems as "LINE:COL: PATH: message" strings.
func decodeInto(t *testing.T, src string, env map[string]string, v any) []string {
	t.Helper()
	f, err := parseYAML([]byte(src))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	d := newDecoder("", testEnv(env))
	body := f.Docs[0].Body
	d.collectAnchors(body, map[string]ast.Node{})
	d.decode(body, reflect.ValueOf(v).Elem(), "", pos{1, 1})
	var out []string
	for _, e := range d.errs.sorted() {
		out = append(out, e.Error())
	}
	return out
}

// The decoder serves fields other packages will add to Config; these types
// exercise the kinds Config does not use yet.
type inner struct {
	RPM int `yaml:"rpm"`
}

type embedded struct {
	Team string `yaml:"team"`
}

type kinds struct {
	embedded `yaml:",inline"`
	Tags     map[string]string   `yaml:"tags"`
	Limits   map[string]inner    `yaml:"limits"`
	Sizes    map[string]ByteSize `yaml:"sizes"`
	MaxPtr   *int                `yaml:"max"`
	On       *bool               `yaml:"on"`
	Wait     *Duration           `yaml:"wait"`
	Budget   float64             `yaml:"budget_usd"`
	Small    int8                `yaml:"small"`
	Count    uint32              `yaml:"count"`
	Inner    *inner              `yaml:"inner"`
	List     []inner             `yaml:"list"`
	Skipped  string              `yaml:"-"`
	Untagged string
}

func TestDecodeKinds(t *testing.T) {
	src := `team: core
tags: {env: prod, empty: "${UNSET}", owner: "${OWNER}"}
limits:
  gpt-4o: {rpm: 10}
sizes: {a: 1KiB}
max: 0
on: false
wait: 1m
budget_usd: 12.5
small: 127
count: 7
inner: {rpm: 3}
list: [{rpm: 1}, {rpm: 2}]
untagged: yes
`
	var k kinds
	if errs := decodeInto(t, src, map[string]string{"OWNER": "ana"}, &k); len(errs) > 0 {
		t.Fatalf("problems: %v", errs)
	}
	want := kinds{
		embedded: embedded{Team: "core"},
		Tags:     map[string]string{"env": "prod", "owner": "ana"},
		Limits:   map[string]inner{"gpt-4o": {RPM: 10}},
		Sizes:    map[string]ByteSize{"a": 1024},
		MaxPtr:   new(int),
		On:       new(bool),
		Wait:     ptr(Duration(60e9)),
		Budget:   12.5,
		Small:    127,
		Count:    7,
		Inner:    &inner{RPM: 3},
		List:     []inner{{1}, {2}},
		Untagged: "yes",
	}
	if !reflect.DeepEqual(k, want) {
		t.Errorf("decoded\n%+v\nwant\n%+v", k, want)
	}

	var unset kinds
	if errs := decodeInto(t, "max: ${UNSET}\non: ''\ninner:\n", nil, &unset); len(errs) > 0 || unset.MaxPtr != nil || unset.On != nil || unset.Inner != nil {
		t.Errorf("empty values set pointers: %+v, %v", unset, errs)
	}
}

func ptr[T any](v T) *T { return &v }

func TestDecodeKindProblems(t *testing.T) {
	tests := []struct {
		src  string
		want string
	}{
		{"small: 128\n", `1:8: small: integer "128" is out of range`},
		{"count: -1\n", `1:8: count: expected a non-negative integer, got "-1"`},
		{"budget_usd: .inf\n", `1:13: budget_usd: expected a number, got ".inf"`},
		{"budget_usd: ten\n", `1:13: budget_usd: expected a number, got "ten"`},
		{"tags: [a]\n", `1:7: tags: expected a mapping, got a list`},
		{"tags: {a: [b]}\n", `1:11: tags.a: expected a single value, got a list`},
		{"limits: {m: {rpm: x}}\n", `1:19: limits.m.rpm: expected an integer, got "x"`},
		{"tags: {a: 1, a: 2}\n", `1:14: tags.a: duplicate key "a" (first at 1:8)`},
		{"-: x\n", `1:1: unknown field "-"`},
		{"skipped: x\n", `1:1: unknown field "skipped"`},
		{"on: maybe\n", `1:5: on: expected true or false, got "maybe"`},
		{"list: [{rpm: 1}, ~]\n", `1:18: list[1]: expected a mapping, got an empty list entry`},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			var k kinds
			got := strings.Join(decodeInto(t, tt.src, nil, &k), "\n")
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

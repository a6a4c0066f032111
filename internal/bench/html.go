package bench

import (
	"html/template"
	"io"
)

// htmlPage is report.html: the same facts and tables as report.md with the charts
// inline, one file with no external resource.
var htmlPage = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; color: #222; margin: 2em auto; max-width: 1200px; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .6em 0; font-variant-numeric: tabular-nums; }
th, td { padding: .25em .7em; border-bottom: 1px solid #eee; text-align: left; white-space: nowrap; }
th { background: #f5f5f5; } td.r, th.r { text-align: right; }
.charts { display: flex; flex-wrap: wrap; gap: 1em; } .charts svg { max-width: 100%; height: auto; border: 1px solid #eee; }
.warn li { color: #a33; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<ul>{{range .Facts}}<li>{{.}}</li>{{end}}</ul>
{{if .Charts}}<div class="charts">{{range .Charts}}<figure>{{.}}</figure>{{end}}</div>{{end}}
{{range .Tables}}{{if .Title}}<h2>{{.Title}}</h2>{{end}}{{if .Intro}}<p>{{.Intro}}</p>{{end}}
<table><thead><tr>{{$t := .}}{{range $i, $h := .Head}}<th{{if index $t.Right $i}} class="r"{{end}}>{{$h}}</th>{{end}}</tr></thead>
<tbody>{{range .Rows}}<tr>{{range $i, $c := .}}<td{{if index $t.Right $i}} class="r"{{end}}>{{$c}}</td>{{end}}</tr>
{{end}}</tbody></table>
{{end}}{{if .Warnings}}<h2>Warnings</h2><ul class="warn">{{range .Warnings}}<li>{{.}}</li>{{end}}</ul>{{end}}
</body>
</html>
`))

type htmlTable struct {
	Title, Intro string
	Head         []string
	Right        []bool
	Rows         [][]string
}

// WriteHTML writes report.html's content for res.
func WriteHTML(w io.Writer, res *Results) error {
	return newView(res).html(w)
}

func (v *view) html(w io.Writer) error {
	data := struct {
		Title    string
		Facts    []string
		Charts   []template.HTML
		Tables   []htmlTable
		Warnings []string
	}{Title: v.title(), Facts: v.facts(), Warnings: v.res.Warnings}
	for _, c := range v.charts {
		// The SVG is built here from numbers and escaped labels only.
		data.Charts = append(data.Charts, template.HTML(c.svg)) // #nosec G203
	}
	for _, t := range v.tables() {
		right := make([]bool, len(t.head))
		copy(right, t.right)
		data.Tables = append(data.Tables, htmlTable{Title: t.title, Intro: t.intro, Head: t.head, Right: right, Rows: t.rows})
	}
	return htmlPage.Execute(w, data)
}

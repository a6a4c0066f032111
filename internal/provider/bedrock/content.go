package bedrock

import (
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// sends reports whether part p becomes a content block: empty text and
// thinking that Bedrock could not verify (no signature, or redacted data
// that is not base64) are left out.
func sends(p *canon.Part) bool {
	switch p.Kind {
	case canon.PartText, canon.PartRefusal:
		return p.Text != ""
	case canon.PartThinking:
		if p.Redacted != "" {
			return isBase64(p.Redacted)
		}
		return p.Text != "" && p.Signature != ""
	}
	return true // the others are written, or refused
}

func sendsAny(parts []canon.Part) bool {
	for i := range parts {
		if sends(&parts[i]) {
			return true
		}
	}
	return false
}

func hasToolParts(msgs []canon.Message) bool {
	for i := range msgs {
		for j := range msgs[i].Parts {
			if k := msgs[i].Parts[j].Kind; k == canon.PartToolCall || k == canon.PartToolResult {
				return true
			}
		}
	}
	return false
}

// block writes part j of message i, and the cache point after it.
func (e *encoder) block(p *canon.Part, i, j int) error {
	at := at{list: "messages", i: i, j: j, k: -1}
	if sends(p) {
		e.sep()
		var err error
		switch p.Kind {
		case canon.PartText, canon.PartRefusal:
			e.dst = append(e.dst, `{"text":`...)
			e.dst = wire.AppendJSONString(e.dst, p.Text)
			e.dst = append(e.dst, '}')
		case canon.PartImage:
			err = e.image(p, at)
		case canon.PartDocument:
			err = e.document(p, at)
		case canon.PartToolCall:
			err = e.toolUse(p, at)
		case canon.PartToolResult:
			err = e.toolResult(p, at)
		case canon.PartThinking:
			e.thinking(p)
		default:
			return canon.Fieldf(at.field(".type"), "Bedrock Converse cannot carry this kind of content")
		}
		if err != nil {
			return err
		}
	}
	return e.cachePoint(p.Cache, at)
}

func (e *encoder) toolUse(p *canon.Part, at at) error {
	args := p.Args
	if args == "" {
		args = "{}"
	} else if !isObject(args) {
		return canon.Fieldf(at.field(".arguments"), "Bedrock Converse needs a tool call's arguments as a JSON object")
	}
	e.dst = append(e.dst, `{"toolUse":{"toolUseId":`...)
	e.dst = wire.AppendJSONString(e.dst, p.ID)
	e.dst = append(e.dst, `,"name":`...)
	e.dst = wire.AppendJSONString(e.dst, p.Name)
	e.dst = append(e.dst, `,"input":`...)
	e.dst = append(e.dst, args...)
	e.dst = append(e.dst, `}}`...)
	return nil
}

// toolResult writes a toolResult: text, images and documents; status
// "error" for a failed call (status is left out otherwise: only some
// models take it).
func (e *encoder) toolResult(p *canon.Part, at at) error {
	e.dst = append(e.dst, `{"toolResult":{"toolUseId":`...)
	e.dst = wire.AppendJSONString(e.dst, p.ID)
	e.dst = append(e.dst, `,"content":[`...)
	n := 0
	for k := range p.Content {
		c := &p.Content[k]
		cat := at
		cat.k = k
		if c.Kind == canon.PartText && c.Text == "" {
			continue
		}
		if n > 0 {
			e.dst = append(e.dst, ',')
		}
		n++
		switch c.Kind {
		case canon.PartText:
			e.dst = append(e.dst, `{"text":`...)
			e.dst = wire.AppendJSONString(e.dst, c.Text)
			e.dst = append(e.dst, '}')
		case canon.PartImage:
			if err := e.image(c, cat); err != nil {
				return err
			}
		case canon.PartDocument:
			if err := e.document(c, cat); err != nil {
				return err
			}
		default:
			return canon.Fieldf(cat.field(".type"), "a Bedrock tool result holds text, images and documents only")
		}
	}
	e.dst = append(e.dst, ']')
	if p.IsError {
		e.dst = append(e.dst, `,"status":"error"`...)
	}
	e.dst = append(e.dst, `}}`...)
	return nil
}

func (e *encoder) thinking(p *canon.Part) {
	if p.Redacted != "" {
		e.dst = append(e.dst, `{"reasoningContent":{"redactedContent":`...)
		e.dst = wire.AppendJSONString(e.dst, p.Redacted)
		e.dst = append(e.dst, `}}`...)
		return
	}
	e.dst = append(e.dst, `{"reasoningContent":{"reasoningText":{"text":`...)
	e.dst = wire.AppendJSONString(e.dst, p.Text)
	e.dst = append(e.dst, `,"signature":`...)
	e.dst = wire.AppendJSONString(e.dst, p.Signature)
	e.dst = append(e.dst, `}}}`...)
}

// image writes {"image":{"format","source"}}: png, jpeg, gif or webp, from
// the media type (or, without one, the data's first bytes); the source is
// the base64 data, a data: URL's data, or an s3:// URL as s3Location.
// Bedrock fetches no other URL.
func (e *encoder) image(p *canon.Part, at at) error {
	mt, data, s3, err := source(p, at)
	if err != nil {
		return err
	}
	format := imageFormat(mt)
	if format == "" && mt == "" && data != "" {
		format = sniffImage(data)
	}
	if format == "" {
		return canon.Fieldf(at.field(".media_type"), "Bedrock takes png, jpeg, gif and webp images")
	}
	e.dst = append(e.dst, `{"image":{"format":"`...)
	e.dst = append(e.dst, format...)
	e.dst = append(e.dst, `",`...)
	e.source(data, s3)
	e.dst = append(e.dst, `}}`...)
	return nil
}

// document writes {"document":{"format","name","source"}}; the name is
// required and restricted (documentName), and unique within the request.
func (e *encoder) document(p *canon.Part, at at) error {
	mt, data, s3, err := source(p, at)
	if err != nil {
		return err
	}
	format := docFormat(mt)
	if format == "" && (mt == "" || mt == "application/octet-stream") {
		if dot := strings.LastIndexByte(p.Name, '.'); dot >= 0 {
			format = docExt(strings.ToLower(p.Name[dot+1:]))
		}
	}
	if format == "" {
		return canon.Fieldf(at.field(".media_type"), "Bedrock takes pdf, csv, doc, docx, xls, xlsx, html, txt and md documents")
	}
	name := documentName(p.Name)
	if name == "" {
		name = "document " + strconv.Itoa(len(e.docs)+1)
	}
	for base, k := name, 2; contains(e.docs, name); k++ {
		name = base + " (" + strconv.Itoa(k) + ")"
	}
	e.docs = append(e.docs, name)
	e.dst = append(e.dst, `{"document":{"format":"`...)
	e.dst = append(e.dst, format...)
	e.dst = append(e.dst, `","name":`...)
	e.dst = wire.AppendJSONString(e.dst, name)
	e.dst = append(e.dst, ',')
	e.source(data, s3)
	e.dst = append(e.dst, `}}`...)
	return nil
}

func (e *encoder) source(data, s3 string) {
	if s3 != "" {
		e.dst = append(e.dst, `"source":{"s3Location":{"uri":`...)
		e.dst = wire.AppendJSONString(e.dst, s3)
		e.dst = append(e.dst, `}}`...)
		return
	}
	e.dst = append(e.dst, `"source":{"bytes":`...)
	e.dst = wire.AppendJSONString(e.dst, data)
	e.dst = append(e.dst, '}')
}

// source returns a media part's media type and either its base64 data or
// its s3:// URL. A data: URL must be base64; any other URL is refused.
func source(p *canon.Part, at at) (mt, data, s3 string, err error) {
	switch {
	case p.Data != "":
		return strings.ToLower(p.MediaType), p.Data, "", nil
	case strings.HasPrefix(p.URL, "s3://"):
		return strings.ToLower(p.MediaType), "", p.URL, nil
	case strings.HasPrefix(p.URL, "data:"):
		meta, d, ok := strings.Cut(p.URL[len("data:"):], ",")
		typ, ok64 := strings.CutSuffix(meta, ";base64")
		if !ok || !ok64 {
			return "", "", "", canon.Fieldf(at.field(".url"), "a data: URL for Bedrock must be base64")
		}
		if p.MediaType != "" {
			typ = p.MediaType
		}
		return strings.ToLower(typ), d, "", nil
	case p.URL != "":
		return "", "", "", canon.Fieldf(at.field(".url"), "Bedrock takes images and documents as bytes or s3:// locations only, not by URL: send the data base64-encoded")
	}
	return "", "", "", canon.Fieldf(at.field(""), "the image or document has no data")
}

func imageFormat(mt string) string {
	switch mt {
	case "image/png":
		return "png"
	case "image/jpeg", "image/jpg":
		return "jpeg"
	case "image/gif":
		return "gif"
	case "image/webp":
		return "webp"
	}
	return ""
}

// sniffImage names the format of base64 image data by its magic bytes.
func sniffImage(b64 string) string {
	switch {
	case strings.HasPrefix(b64, "iVBORw0KGgo"):
		return "png"
	case strings.HasPrefix(b64, "/9j/"):
		return "jpeg"
	case strings.HasPrefix(b64, "R0lGOD"):
		return "gif"
	case strings.HasPrefix(b64, "UklGR"):
		return "webp"
	}
	return ""
}

func docFormat(mt string) string {
	switch mt {
	case "application/pdf":
		return "pdf"
	case "text/csv":
		return "csv"
	case "application/msword":
		return "doc"
	case "application/vnd.openxmlformats-officedocument.wordprocessingml.document":
		return "docx"
	case "application/vnd.ms-excel":
		return "xls"
	case "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
		return "xlsx"
	case "text/html":
		return "html"
	case "text/plain":
		return "txt"
	case "text/markdown":
		return "md"
	}
	return ""
}

func docExt(ext string) string {
	switch ext {
	case "pdf", "csv", "doc", "docx", "xls", "xlsx", "html", "txt", "md":
		return ext
	case "htm":
		return "html"
	case "markdown":
		return "md"
	}
	return ""
}

// documentName makes name a Bedrock document name, which may hold only
// ASCII letters and digits, single whitespace characters, hyphens,
// parentheses and square brackets: a known file extension is cut
// ("report.pdf" → "report"), each run of other characters becomes one
// hyphen and each run of whitespace one space; the ends are trimmed.
func documentName(name string) string {
	if dot := strings.LastIndexByte(name, '.'); dot > 0 && docExt(strings.ToLower(name[dot+1:])) != "" {
		name = name[:dot]
	}
	b := make([]byte, 0, len(name))
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '(', c == ')', c == '[', c == ']':
			b = append(b, c)
		case c == ' ', c == '\t', c == '\n', c == '\r':
			if len(b) > 0 && b[len(b)-1] != ' ' {
				b = append(b, ' ')
			}
		default:
			if len(b) == 0 || b[len(b)-1] != '-' {
				b = append(b, '-')
			}
		}
	}
	return strings.Trim(string(b), " ")
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// isBase64 checks standard, padded base64 without decoding it.
func isBase64(s string) bool {
	if len(s) == 0 || len(s)%4 != 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '+', c == '/':
		case c == '=' && i >= len(s)-2 && (i == len(s)-1 || s[len(s)-1] == '='):
		default:
			return false
		}
	}
	return true
}

func validJSON(s string) bool { return gjson.Valid(s) }

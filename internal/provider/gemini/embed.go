package gemini

import (
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// The embedding actions: embedContent embeds one content, and
// batchEmbedContents several.
const (
	ActionEmbed      = "embedContent"
	ActionBatchEmbed = "batchEmbedContents"
)

// EmbedAction returns the action the gateway calls on a Gemini upstream to
// embed n inputs: the one EmbedCodec's EncodeRequest wrote the body for.
func EmbedAction(n int) string {
	if n == 1 {
		return ActionEmbed
	}
	return ActionBatchEmbed
}

// EmbedCodec returns the codec of embedContent and batchEmbedContents. Its
// request decoder reads either shape; its encoder writes embedContent for
// one input and batchEmbedContents for more (EmbedAction). Its reply
// encoder writes the batch shape for a batch request (EmbedRequest.Batch)
// or several inputs, the single shape otherwise.
func EmbedCodec() canon.EmbedCodec {
	return canon.EmbedCodec{
		DecodeRequest: decodeEmbedRequest,
		EncodeRequest: encodeEmbedRequest,
		DecodeReply:   decodeEmbedReply,
		EncodeReply: func(dst []byte, r *canon.EmbedReply, req *canon.EmbedRequest) []byte {
			return EncodeEmbedReply(dst, r, req.Batch || len(req.Inputs) != 1)
		},
	}
}

// decodeEmbedRequest reads an EmbedContentRequest ({content, taskType,
// title, outputDimensionality}) or a BatchEmbedContentsRequest ({requests:
// [EmbedContentRequest with model]}). A batch's requests must agree on
// taskType and outputDimensionality, which canon holds once.
func decodeEmbedRequest(body []byte, r *canon.EmbedRequest) error {
	inputs := r.Inputs[:0]
	*r = canon.EmbedRequest{Inputs: inputs}
	root, err := canon.ParseObject(body)
	if err != nil {
		return err
	}
	reqs := root.Get("requests")
	if !reqs.Exists() {
		return embedOne(r, "", root, true)
	}
	r.Batch = true
	root.ForEach(func(k, _ gjson.Result) bool {
		if k.Str != "requests" {
			err = canon.Fieldf(k.Str, "is not a field of Gemini's BatchEmbedContentsRequest")
		}
		return err == nil
	})
	if err != nil {
		return err
	}
	if !reqs.IsArray() {
		return canon.Fieldf("requests", "must be an array")
	}
	i := 0
	reqs.ForEach(func(_, q gjson.Result) bool {
		err = embedOne(r, "requests["+strconv.Itoa(i)+"].", q, i == 0)
		i++
		return err == nil
	})
	if err == nil && len(r.Inputs) == 0 {
		err = canon.Fieldf("requests", "must hold at least one request")
	}
	return err
}

// embedOne reads one EmbedContentRequest; first: the first of a batch,
// whose settings the others must repeat.
func embedOne(r *canon.EmbedRequest, path string, q gjson.Result, first bool) error {
	if !q.IsObject() {
		return canon.Fieldf(strings.TrimSuffix(path, "."), "must be an EmbedContentRequest object")
	}
	var task string
	var dims int64
	text, have := "", false
	var err error
	q.ForEach(func(k, v gjson.Result) bool {
		fp := path + k.Str
		switch fieldName(k.Str) {
		case "model":
			if first {
				r.Model = trimModels(own(v))
			}
		case "content":
			text, err = embedText(fp, v)
			have = true
		case "taskType":
			task = own(v)
		case "outputDimensionality":
			n, ok := intValue(v)
			if !ok || n < 1 {
				err = canon.Fieldf(fp, "must be a positive integer")
			}
			dims = n
		case "title":
			// Dropped (TRANSLATION.md).
		default:
			err = canon.Fieldf(fp, "is not a field of Gemini's EmbedContentRequest")
		}
		return err == nil
	})
	switch {
	case err != nil:
		return err
	case !have:
		return canon.Fieldf(path+"content", "is required")
	case first:
		r.TaskType, r.Dimensions = task, dims
	case task != r.TaskType:
		return canon.Fieldf(path+"taskType", "must be the same in every request of a batch")
	case dims != r.Dimensions:
		return canon.Fieldf(path+"outputDimensionality", "must be the same in every request of a batch")
	}
	r.Inputs = append(r.Inputs, text)
	return nil
}

// embedText returns the text of a content to embed: its text parts,
// joined with a line break when there are several.
func embedText(path string, c gjson.Result) (string, error) {
	parts := field(c, "parts", "parts")
	if !parts.IsArray() {
		return "", canon.Fieldf(path+".parts", "must be an array of text parts")
	}
	var b strings.Builder
	n := 0
	var err error
	parts.ForEach(func(_, p gjson.Result) bool {
		t := p.Get("text")
		if t.Type != gjson.String {
			err = canon.Fieldf(path+".parts["+strconv.Itoa(n)+"]", "only text can be embedded here")
			return false
		}
		if n > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(t.Str)
		n++
		return true
	})
	if err == nil && n == 0 {
		err = canon.Fieldf(path+".parts", "must hold a text part")
	}
	return b.String(), err
}

// encodeEmbedRequest appends an embedContent body for one input, a
// batchEmbedContents body for more.
func encodeEmbedRequest(dst []byte, r *canon.EmbedRequest) ([]byte, error) {
	switch len(r.Inputs) {
	case 0:
		return dst, canon.Fieldf("input", "must hold at least one text")
	case 1:
		return appendEmbedOne(dst, r, r.Inputs[0], false), nil
	}
	dst = append(dst, `{"requests":[`...)
	for i, in := range r.Inputs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendEmbedOne(dst, r, in, true)
	}
	return append(dst, `]}`...), nil
}

// appendEmbedOne appends one EmbedContentRequest; in a batch each names
// its model.
func appendEmbedOne(dst []byte, r *canon.EmbedRequest, text string, batch bool) []byte {
	dst = append(dst, '{')
	if batch {
		dst = append(dst, `"model":`...)
		dst = wire.AppendJSONString(dst, "models/"+trimModels(r.Model))
		dst = append(dst, ',')
	}
	dst = append(dst, `"content":{"parts":[{"text":`...)
	dst = wire.AppendJSONString(dst, text)
	dst = append(dst, `}]}`...)
	if r.TaskType != "" {
		dst = append(dst, `,"taskType":`...)
		dst = wire.AppendJSONString(dst, r.TaskType)
	}
	if r.Dimensions > 0 {
		dst = append(dst, `,"outputDimensionality":`...)
		dst = strconv.AppendInt(dst, r.Dimensions, 10)
	}
	return append(dst, '}')
}

// decodeEmbedReply reads {"embedding":{"values"}} or
// {"embeddings":[{"values"}]}. Gemini reports no token usage for
// embeddings (Usage.Valid false) unless a usageMetadata is there.
func decodeEmbedReply(body []byte, r *canon.EmbedReply) error {
	vecs := r.Vectors[:0]
	*r = canon.EmbedReply{Vectors: vecs}
	s := wire.StringView(body)
	if !gjson.Valid(s) {
		return canon.ErrInvalidJSON
	}
	root := gjson.Parse(s)
	var err error
	add := func(path string, e gjson.Result) bool {
		vals := e.Get("values")
		if !vals.IsArray() {
			err = canon.Fieldf(path+".values", "must be an array of numbers")
			return false
		}
		var v []float32
		n := len(r.Vectors)
		if n < cap(r.Vectors) {
			v = r.Vectors[:n+1][n][:0]
		}
		vals.ForEach(func(_, x gjson.Result) bool {
			if x.Type != gjson.Number {
				err = canon.Fieldf(path+".values", "must be an array of numbers")
				return false
			}
			v = append(v, float32(x.Num))
			return true
		})
		r.Vectors = append(r.Vectors, v)
		return err == nil
	}
	switch {
	case root.Get("embedding").Exists():
		add("embedding", root.Get("embedding"))
	case root.Get("embeddings").IsArray():
		i := 0
		root.Get("embeddings").ForEach(func(_, e gjson.Result) bool {
			ok := add("embeddings["+strconv.Itoa(i)+"]", e)
			i++
			return ok
		})
	default:
		return canon.Fieldf("embedding", "the reply holds no embedding")
	}
	if u := field(root, "usageMetadata", "usage_metadata"); u.IsObject() {
		if n, ok := intValue(field(u, "promptTokenCount", "prompt_token_count")); ok {
			r.Usage.Input, r.Usage.Valid = n, true
		}
	}
	return err
}

// EncodeEmbedReply appends r as Gemini's reply to batchEmbedContents
// (batch) or embedContent.
func EncodeEmbedReply(dst []byte, r *canon.EmbedReply, batch bool) []byte {
	if !batch && len(r.Vectors) == 1 {
		dst = append(dst, `{"embedding":`...)
		dst = appendVector(dst, r.Vectors[0])
		return append(dst, '}')
	}
	dst = append(dst, `{"embeddings":[`...)
	for i, v := range r.Vectors {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendVector(dst, v)
	}
	return append(dst, `]}`...)
}

// appendVector appends {"values":[...]}.
func appendVector(dst []byte, v []float32) []byte {
	dst = append(dst, `{"values":[`...)
	for i, x := range v {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = strconv.AppendFloat(dst, float64(x), 'g', -1, 32)
	}
	return append(dst, `]}`...)
}

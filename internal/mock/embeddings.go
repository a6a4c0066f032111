package mock

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"math"
	"strconv"

	"github.com/tidwall/gjson"
	"github.com/valyala/fasthttp"
)

// maxDimensions bounds the dimensions an embedding request may ask for.
const maxDimensions = 16384

// embeddings serves POST /v1/embeddings. Each input gets a unit vector drawn from a
// hash of its text, so the same text always embeds the same; base64 encodes the
// float32 values little-endian, as OpenAI does.
func (s *Server) embeddings(ctx *fasthttp.RequestCtx, c *call, body []byte) {
	root, ok := s.parseRoot(ctx, c, formatOpenAI, body)
	if !ok {
		return
	}
	var input, encoding, dims gjson.Result
	bad := ""
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "input":
			input = v
		case "encoding_format":
			encoding = v
		case "dimensions":
			dims = v
		case "model":
			bad = c.readCommon(k, v)
		}
		return bad == ""
	})
	switch {
	case bad != "":
		s.reject(ctx, c, formatOpenAI, "Invalid type for '"+bad+"'.", bad)
		return
	case c.model == nil:
		s.reject(ctx, c, formatOpenAI, "You must provide a model parameter.", "model")
		return
	case input.Type != gjson.String && (!input.IsArray() || !input.Get("0").Exists()):
		s.reject(ctx, c, formatOpenAI, "'input' must be a string, an array of strings or an array of token arrays, and not empty.", "input")
		return
	case encoding.Exists() && encoding.Str != "float" && encoding.Str != "base64":
		s.reject(ctx, c, formatOpenAI, "'encoding_format' must be \"float\" or \"base64\".", "encoding_format")
		return
	case dims.Exists() && (dims.Type != gjson.Number || dims.Int() < 1 || dims.Int() > maxDimensions):
		s.reject(ctx, c, formatOpenAI, "'dimensions' must be a whole number between 1 and "+strconv.Itoa(maxDimensions)+".", "dimensions")
		return
	}
	d := defaultDimensions(c.model)
	if dims.Exists() {
		d = int(dims.Int())
	}
	b64 := encoding.Str == "base64"

	s.startFixed(ctx, c)
	b := ctx.Response.SwapBody(nil)[:0]
	b = append(b, `{"object":"list","data":[`...)
	tokens, i := 0, 0
	emit := func(item gjson.Result) {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"object":"embedding","index":`...)
		b = appendInt(b, i)
		b = append(b, `,"embedding":`...)
		b = appendEmbedding(b, hashBytes(s.seed, stringBytes(item.Raw)), d, b64)
		b = append(b, '}')
		if item.IsArray() {
			tokens += int(item.Get("#").Int())
		} else {
			tokens += estimateTokens(len(item.Raw) - 2)
		}
		i++
	}
	if input.Type == gjson.String || input.Get("0").Type == gjson.Number {
		emit(input) // one text, or one array of token ids
	} else {
		input.ForEach(func(_, item gjson.Result) bool { emit(item); return true })
	}
	b = append(b, `],"model":`...)
	b = append(b, c.model...)
	b = append(b, `,"usage":{"prompt_tokens":`...)
	b = appendInt(b, tokens)
	b = append(b, `,"total_tokens":`...)
	b = appendInt(b, tokens)
	b = append(b, "}}"...)
	ctx.Response.SwapBody(b)
	s.endFixed(ctx, c)
}

// startFixed starts a reply that is not a sequence of tokens (embeddings, token
// counts): a steered 2xx status, then one wait of TTFT, or of the total latency.
func (s *Server) startFixed(ctx *fasthttp.RequestCtx, c *call) {
	if c.st.status >= 200 && c.st.status < 300 {
		ctx.SetStatusCode(c.st.status)
	}
	if c.st.hasLatency {
		s.wait(c.st.latency)
	} else {
		s.wait(c.st.ttft)
	}
	ctx.SetContentType("application/json")
}

// endFixed sends the body of a fixed reply, in the response: cut in half by
// X-Mock-Malformed-Rate; with X-Mock-Disconnect-After, only its head (it has no tokens
// to count) before the connection closes.
func (s *Server) endFixed(ctx *fasthttp.RequestCtx, c *call) {
	if c.st.malformedRate > 0 && s.roll(c.serial, 3) < c.st.malformedRate {
		b := ctx.Response.SwapBody(nil)
		ctx.Response.SwapBody(b[:len(b)/2])
	}
	if c.st.disconnect >= 0 {
		s.cutShort(ctx, c)
		return
	}
	s.finish(ctx, c)
}

// geminiEmbed serves Gemini's :embedContent ({"content":{"parts":[...]}} →
// {"embedding":{"values":[...]}}) and :batchEmbedContents ({"requests":[...]} →
// {"embeddings":[...]}). Vectors are drawn as for /v1/embeddings: a content of one text
// part embeds as the same string does there. outputDimensionality sets the size; the
// default is 3072 for gemini-embedding models, else 768.
func (s *Server) geminiEmbed(ctx *fasthttp.RequestCtx, c *call, body []byte) {
	root, ok := s.parseRoot(ctx, c, formatGemini, body)
	if !ok {
		return
	}
	batch := bytes.HasSuffix(ctx.Path(), []byte(":batchEmbedContents"))
	reqs := root
	what := "EmbedContentRequest"
	if batch {
		what = "BatchEmbedContentsRequest.requests"
		if reqs = root.Get("requests"); !reqs.IsArray() || !reqs.Get("0").Exists() {
			s.reject(ctx, c, formatGemini, "* BatchEmbedContentsRequest.requests: requests is not specified", "")
			return
		}
	}
	bad := ""
	check := func(_, r gjson.Result) bool {
		if parts := r.Get("content.parts"); !parts.IsArray() || !parts.Get("0").Exists() {
			bad = "* " + what + ".content: content is not specified"
		} else if d := field(r, "outputDimensionality", "output_dimensionality"); d.Exists() &&
			(d.Type != gjson.Number || d.Int() < 1 || d.Int() > maxDimensions) {
			bad = "* " + what + ".output_dimensionality: must be a whole number between 1 and " + strconv.Itoa(maxDimensions)
		}
		return bad == ""
	}
	if batch {
		reqs.ForEach(check)
	} else {
		check(gjson.Result{}, root)
	}
	if bad != "" {
		s.reject(ctx, c, formatGemini, bad, "")
		return
	}
	s.startFixed(ctx, c)
	b := ctx.Response.SwapBody(nil)[:0]
	if batch {
		b = append(b, `{"embeddings":[`...)
		first := true
		reqs.ForEach(func(_, r gjson.Result) bool {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = s.appendGeminiEmbedding(b, c, r)
			return true
		})
		b = append(b, "]}"...)
	} else {
		b = append(b, `{"embedding":`...)
		b = s.appendGeminiEmbedding(b, c, root)
		b = append(b, '}')
	}
	ctx.Response.SwapBody(b)
	s.endFixed(ctx, c)
}

// appendGeminiEmbedding appends the ContentEmbedding of one embed request r.
func (s *Server) appendGeminiEmbedding(b []byte, c *call, r gjson.Result) []byte {
	d := 768
	if contains(c.model, "gemini-embedding") {
		d = 3072
	}
	if v := field(r, "outputDimensionality", "output_dimensionality"); v.Exists() {
		d = int(v.Int())
	}
	parts := r.Get("content.parts")
	key := parts.Raw
	if text := parts.Get("0.text"); text.Type == gjson.String && !parts.Get("1").Exists() {
		key = text.Raw
	}
	b = append(b, `{"values":`...)
	b = appendEmbedding(b, hashBytes(s.seed, stringBytes(key)), d, false)
	return append(b, '}')
}

// defaultDimensions is the size of a model's vectors when the request does not ask.
func defaultDimensions(model []byte) int {
	if contains(model, "3-large") {
		return 3072
	}
	return 1536
}

func contains(b []byte, sub string) bool {
	for i := 0; i+len(sub) <= len(b); i++ {
		if string(b[i:i+len(sub)]) == sub {
			return true
		}
	}
	return false
}

// appendEmbedding appends a unit vector of d values drawn from seed, as a JSON array or
// a quoted base64 string. It makes two passes over the generator (norm, then values)
// instead of holding the vector.
func appendEmbedding(b []byte, seed uint64, d int, b64 bool) []byte {
	r := rng{s: seed}
	var sum float64
	for range d {
		v := float32(2*r.float() - 1)
		sum += float64(v) * float64(v)
	}
	scale := float32(1 / math.Sqrt(sum))
	r = rng{s: seed}
	if !b64 {
		b = append(b, '[')
		for i := range d {
			if i > 0 {
				b = append(b, ',')
			}
			v := float32(2*r.float()-1) * scale
			b = strconv.AppendFloat(b, float64(v), 'g', -1, 32)
		}
		return append(b, ']')
	}
	// Three float32 values are 12 bytes, which base64 encodes to 16 characters with no
	// padding, so groups of three concatenate into one valid encoding.
	b = append(b, '"')
	var group [12]byte
	for i := 0; i < d; i += 3 {
		n := min(3, d-i)
		for j := range n {
			binary.LittleEndian.PutUint32(group[4*j:], math.Float32bits(float32(2*r.float()-1)*scale))
		}
		b = base64.StdEncoding.AppendEncode(b, group[:4*n])
	}
	return append(b, '"')
}

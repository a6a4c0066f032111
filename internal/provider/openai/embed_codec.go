package openai

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"math"
	"strconv"
	"unsafe"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// EmbedCodec returns the codec of OpenAI embeddings (/v1/embeddings) in
// every direction. chat_codec.md lists its rules.
func EmbedCodec() canon.EmbedCodec {
	return canon.EmbedCodec{
		DecodeRequest: embedDecodeRequest,
		EncodeRequest: embedEncodeRequest,
		DecodeReply:   embedDecodeReply,
		EncodeReply:   embedEncodeReply,
	}
}

var (
	errEmbedNotObject = errors.New("openai embeddings reply is not a JSON object")
	errEmbedBadVector = errors.New("openai embeddings reply holds an embedding that is neither an array of numbers nor base64")
)

// embedDecodeRequest reads a client's embeddings request: model, input (a
// string or an array of strings; token ids are refused), dimensions,
// encoding_format (float or base64) and user. Any other field is refused.
func embedDecodeRequest(body []byte, r *canon.EmbedRequest) error {
	*r = canon.EmbedRequest{Inputs: r.Inputs[:0]}
	root, err := canon.ParseObject(body)
	if err != nil {
		return err
	}
	var input gjson.Result
	root.ForEach(func(k, v gjson.Result) bool {
		if v.Type == gjson.Null {
			return true
		}
		switch k.Str {
		case "model":
			r.Model, err = chatString(k.Str, v)
		case "input":
			input = v
		case "dimensions":
			r.Dimensions, err = chatCount(k.Str, v)
		case "encoding_format":
			switch v.Str {
			case "float":
			case "base64":
				r.Base64 = true
			default:
				err = canon.Fieldf(k.Str, `must be "float" or "base64"`)
			}
		case "user":
			r.User, err = chatString(k.Str, v)
		default:
			err = canon.Fieldf(chatKey(k.Str), "unknown field: it cannot be translated to this model's upstream; remove it")
		}
		return err == nil
	})
	if err != nil {
		return err
	}
	return embedInputs(r, input)
}

func embedInputs(r *canon.EmbedRequest, input gjson.Result) error {
	const tokens = "token ids cannot be translated to this model's upstream; send the text"
	switch {
	case input.Type == gjson.String:
		r.Inputs = append(r.Inputs, chatStr(input))
		return nil
	case !input.IsArray():
		return canon.Fieldf("input", "required: a string or an array of strings")
	}
	var err error
	i := 0
	input.ForEach(func(_, v gjson.Result) bool {
		switch {
		case v.Type == gjson.String:
			r.Inputs = append(r.Inputs, chatStr(v))
		case v.Type == gjson.Number && i == 0:
			err = canon.Fieldf("input", tokens)
		case v.Type == gjson.Number || v.IsArray():
			err = canon.Fieldf("input["+strconv.Itoa(i)+"]", tokens)
		default:
			err = canon.Fieldf("input["+strconv.Itoa(i)+"]", "must be a string")
		}
		i++
		return err == nil
	})
	if err == nil && len(r.Inputs) == 0 {
		err = canon.Fieldf("input", "must not be empty")
	}
	return err
}

// embedEncodeRequest appends r as an embeddings request. It always asks
// for base64 vectors, a quarter of the bytes to send and no float text to
// parse: the official Python SDK asks for base64 by default, so every
// compatible server speaks it (and a reply in floats is read as well).
// TaskType (Gemini's) is dropped.
func embedEncodeRequest(dst []byte, r *canon.EmbedRequest) ([]byte, error) {
	if len(r.Inputs) == 0 {
		return dst, canon.Fieldf("input", "must not be empty")
	}
	dst = append(dst, `{"model":`...)
	dst = wire.AppendJSONString(dst, r.Model)
	dst = append(dst, `,"input":[`...)
	for i, s := range r.Inputs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = wire.AppendJSONString(dst, s)
	}
	dst = append(dst, `],"encoding_format":"base64"`...)
	if r.Dimensions > 0 {
		dst = append(dst, `,"dimensions":`...)
		dst = strconv.AppendInt(dst, r.Dimensions, 10)
	}
	if r.User != "" {
		dst = append(dst, `,"user":`...)
		dst = wire.AppendJSONString(dst, r.User)
	}
	return append(dst, '}'), nil
}

// embedDecodeReply reads an upstream's embeddings list: each item's
// embedding (an array of numbers, or base64 of little-endian float32s) at
// its index (an index outside the list: at the next place), model, and
// usage.prompt_tokens as Input.
func embedDecodeReply(body []byte, r *canon.EmbedReply) error {
	vecs := r.Vectors[:0]
	*r = canon.EmbedReply{}
	s := wire.StringView(body)
	if !gjson.Valid(s) {
		return canon.ErrInvalidJSON
	}
	root := gjson.Parse(s)
	if !root.IsObject() {
		return errEmbedNotObject
	}
	var err error
	var scratch []byte
	r.Model = chatStr(root.Get("model"))
	data := root.Get("data")
	count := int(data.Get("#").Int())
	data.ForEach(func(_, item gjson.Result) bool {
		at := len(vecs) // an item without a valid index takes the next place
		if ix := item.Get("index"); ix.Type == gjson.Number && ix.Int() >= 0 && ix.Int() < int64(count) {
			at = int(ix.Int())
		}
		for len(vecs) <= at {
			if len(vecs) < cap(vecs) {
				vecs = vecs[:len(vecs)+1]
				vecs[len(vecs)-1] = vecs[len(vecs)-1][:0]
			} else {
				vecs = append(vecs, nil)
			}
		}
		vecs[at], scratch, err = embedVector(vecs[at][:0], item.Get("embedding"), scratch)
		return err == nil
	})
	r.Vectors = vecs
	if err != nil {
		return err
	}
	if u := root.Get("usage"); u.IsObject() {
		r.Usage.Valid = true
		r.Usage.Input = u.Get("prompt_tokens").Int()
	}
	return nil
}

// embedVector appends the values of an embedding to v.
func embedVector(v []float32, e gjson.Result, scratch []byte) ([]float32, []byte, error) {
	switch {
	case e.IsArray():
		var err error
		e.ForEach(func(_, x gjson.Result) bool {
			if x.Type != gjson.Number {
				err = errEmbedBadVector
				return false
			}
			v = append(v, float32(x.Num))
			return true
		})
		return v, scratch, err
	case e.Type == gjson.String:
		n := base64.StdEncoding.DecodedLen(len(e.Str))
		if cap(scratch) < n {
			scratch = make([]byte, n)
		}
		n, err := base64.StdEncoding.Decode(scratch[:n], embedBytesView(e.Str))
		if err != nil || n%4 != 0 {
			return v, scratch, errEmbedBadVector
		}
		for i := 0; i < n; i += 4 {
			v = append(v, math.Float32frombits(binary.LittleEndian.Uint32(scratch[i:])))
		}
		return v, scratch, nil
	}
	return v, scratch, errEmbedBadVector
}

// embedEncodeReply appends r as OpenAI's embeddings list, each vector as
// floats, or as base64 of little-endian float32s when the client asked for
// encoding_format base64; usage prompt_tokens and total_tokens are Input.
func embedEncodeReply(dst []byte, r *canon.EmbedReply, req *canon.EmbedRequest) []byte {
	b64 := req != nil && req.Base64
	dst = append(dst, `{"object":"list","data":[`...)
	for i, vec := range r.Vectors {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"object":"embedding","index":`...)
		dst = strconv.AppendInt(dst, int64(i), 10)
		dst = append(dst, `,"embedding":`...)
		if b64 {
			dst = embedAppendBase64(dst, vec)
		} else {
			dst = append(dst, '[')
			for j, x := range vec {
				if j > 0 {
					dst = append(dst, ',')
				}
				dst = embedAppendFloat(dst, x)
			}
			dst = append(dst, ']')
		}
		dst = append(dst, '}')
	}
	dst = append(dst, `],"model":`...)
	model := r.Model
	if model == "" && req != nil {
		model = req.Model
	}
	dst = wire.AppendJSONString(dst, model)
	dst = append(dst, `,"usage":{"prompt_tokens":`...)
	dst = strconv.AppendInt(dst, r.Usage.Input, 10)
	dst = append(dst, `,"total_tokens":`...)
	dst = strconv.AppendInt(dst, r.Usage.Input+r.Usage.Output, 10)
	return append(dst, "}}"...)
}

// embedAppendFloat appends x as a JSON number (a NaN or infinity, which
// JSON cannot hold, as 0).
func embedAppendFloat(dst []byte, x float32) []byte {
	if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
		return append(dst, '0')
	}
	return strconv.AppendFloat(dst, float64(x), 'g', -1, 32)
}

// embedAppendBase64 appends vec as a quoted base64 string of its float32
// values, little-endian. Three values are 12 bytes, 16 characters without
// padding, so groups of three concatenate into one encoding.
func embedAppendBase64(dst []byte, vec []float32) []byte {
	dst = append(dst, '"')
	var group [12]byte
	for i := 0; i < len(vec); i += 3 {
		n := min(3, len(vec)-i)
		for j := range n {
			binary.LittleEndian.PutUint32(group[4*j:], math.Float32bits(vec[i+j]))
		}
		dst = base64.StdEncoding.AppendEncode(dst, group[:4*n])
	}
	return append(dst, '"')
}

// embedBytesView returns s's bytes without copying, for reading only (the
// base64 decoder's source): a vector's base64 is tens of kilobytes.
func embedBytesView(s string) []byte {
	if s == "" {
		return nil
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

package gemini

import "github.com/sluice-gw/sluice/internal/provider/canon"

// GenerateCodec returns the codec of generateContent and
// streamGenerateContent (?alt=sse), in every direction: Gemini clients'
// requests and Gemini upstreams' replies and streams (TRANSLATION.md).
func GenerateCodec() canon.Codec {
	return canon.Codec{
		DecodeRequest: decodeRequest,
		EncodeRequest: encodeRequest,
		DecodeReply:   decodeReply,
		EncodeReply:   encodeReply,
		NewDecoder:    newDecoder,
		NewEncoder:    newEncoder,
		DecodeError:   decodeError,
	}
}

package bedrock

import (
	"github.com/valyala/fasthttp"

	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// Hooks returns the Bedrock format's hooks: an upstream-only format (no
// client speaks Converse to Sluice), reached through ConverseCodec. Its
// requests are signed (Signer) once their body is final, so Authorize sets
// nothing: provider keys do not exist for it.
func Hooks() wire.Hooks {
	return wire.Hooks{
		Name:         "bedrock",
		UpstreamOnly: true,
		KeyValue:     func(key string) []byte { return []byte(key) },
		Authorize:    func(*fasthttp.RequestHeader, []byte, []byte) {},
	}
}

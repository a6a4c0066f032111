package provider

import (
	"github.com/sluice-gw/sluice/internal/provider/anthropic"
	"github.com/sluice-gw/sluice/internal/provider/bedrock"
	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/provider/gemini"
	"github.com/sluice-gw/sluice/internal/provider/openai"
)

// codecTable lists every format's codecs by operation.
func codecTable() map[Operation]canon.Codec {
	return map[Operation]canon.Codec{
		OpChat:      openai.ChatCodec(),
		OpResponses: openai.ResponsesCodec(),
		OpMessages:  anthropic.MessagesCodec(),
		OpGenerate:  gemini.GenerateCodec(),
		OpConverse:  bedrock.ConverseCodec(),
	}
}

// embedCodecTable lists every format's embeddings codecs by operation.
func embedCodecTable() map[Operation]canon.EmbedCodec {
	return map[Operation]canon.EmbedCodec{
		OpEmbeddings:   openai.EmbedCodec(),
		OpEmbedContent: gemini.EmbedCodec(),
	}
}

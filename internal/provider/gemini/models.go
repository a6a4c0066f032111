package gemini

import (
	"strings"

	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// appendModel appends Gemini's Model resource: its name (models/{id}),
// displayName and the methods it supports. Sluice knows a model's id and
// owner only: an id naming an embedding model ("embedding") supports the
// embedding methods, any other the generation ones.
func appendModel(dst []byte, m wire.Model) []byte {
	dst = append(dst, `{"name":`...)
	dst = wire.AppendJSONString(dst, "models/"+trimModels(m.ID))
	dst = append(dst, `,"baseModelId":`...)
	dst = wire.AppendJSONString(dst, trimModels(m.ID))
	dst = append(dst, `,"displayName":`...)
	dst = wire.AppendJSONString(dst, m.ID)
	if strings.Contains(m.ID, "embedding") {
		dst = append(dst, `,"supportedGenerationMethods":["embedContent","batchEmbedContents"]}`...)
	} else {
		dst = append(dst, `,"supportedGenerationMethods":["generateContent","streamGenerateContent"]}`...)
	}
	return dst
}

// appendModels appends Gemini's list of models, one page holding them all
// (no nextPageToken).
func appendModels(dst []byte, models []wire.Model) []byte {
	dst = append(dst, `{"models":[`...)
	for i, m := range models {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendModel(dst, m)
	}
	return append(dst, `]}`...)
}

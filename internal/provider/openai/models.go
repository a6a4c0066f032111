package openai

import (
	"strconv"

	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// appendModel appends OpenAI's model object.
func appendModel(dst []byte, m wire.Model) []byte {
	dst = append(dst, `{"id":`...)
	dst = wire.AppendJSONString(dst, m.ID)
	dst = append(dst, `,"object":"model","created":`...)
	dst = strconv.AppendInt(dst, m.Created.Unix(), 10)
	dst = append(dst, `,"owned_by":`...)
	dst = wire.AppendJSONString(dst, m.Owner)
	return append(dst, '}')
}

// appendModels appends OpenAI's list of models.
func appendModels(dst []byte, models []wire.Model) []byte {
	dst = append(dst, `{"object":"list","data":[`...)
	for i, m := range models {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendModel(dst, m)
	}
	return append(dst, `]}`...)
}

package anthropic

import (
	"time"

	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// appendModel appends Anthropic's model object.
func appendModel(dst []byte, m wire.Model) []byte {
	dst = append(dst, `{"type":"model","id":`...)
	dst = wire.AppendJSONString(dst, m.ID)
	dst = append(dst, `,"display_name":`...)
	dst = wire.AppendJSONString(dst, m.ID)
	dst = append(dst, `,"created_at":"`...)
	dst = m.Created.UTC().AppendFormat(dst, time.RFC3339)
	return append(dst, `"}`...)
}

// appendModels appends Anthropic's list of models: one page holding them
// all, with the first and last ids.
func appendModels(dst []byte, models []wire.Model) []byte {
	dst = append(dst, `{"data":[`...)
	for i, m := range models {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendModel(dst, m)
	}
	dst = append(dst, `],"has_more":false,"first_id":`...)
	if n := len(models); n > 0 {
		dst = appendListID(dst, models[0].ID)
		dst = append(dst, `,"last_id":`...)
		dst = appendListID(dst, models[n-1].ID)
	} else {
		dst = append(dst, `null,"last_id":null`...)
	}
	return append(dst, '}')
}

// appendListID quotes first_id and last_id as the list always has: cut
// after 200 bytes with an ellipsis, as names in messages are, where the
// list's own ids are whole. Model names that long are rare; the cut is
// kept until the list is changed on purpose.
func appendListID(dst []byte, id string) []byte {
	if len(id) > 200 {
		id = id[:200] + "…"
	}
	return wire.AppendJSONString(dst, id)
}

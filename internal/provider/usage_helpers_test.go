package provider

import "github.com/tidwall/gjson"

func gjsonValid(b []byte) bool { return gjson.ValidBytes(b) }

func gjsonGet(b []byte, path string) gjson.Result { return gjson.Get(bytesView(b), path) }

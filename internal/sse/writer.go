package sse

import "bytes"

// AppendEvent appends one event to dst and returns the extended slice: "event: name\n"
// when name is not empty, then "data: line\n" for each line of data, then the blank line
// that ends the event. At least one data line is always written, so an empty data gives
// "data: \n" and clients dispatch the event.
//
// Line breaks in data ("\n", "\r\n" or a lone "\r") start a new data line; a [Reader]
// joins the lines again with "\n", so data round-trips unchanged unless it holds '\r'.
// An event name cannot hold a line break: name is cut at its first '\r' or '\n', so the
// output is always exactly one well-formed event.
func AppendEvent(dst, name, data []byte) []byte {
	if i := indexEOL(name); i >= 0 {
		name = name[:i]
	}
	if len(name) > 0 {
		dst = append(dst, "event: "...)
		dst = append(dst, name...)
		dst = append(dst, '\n')
	}
	dst = appendLines(dst, "data: ", data)
	return append(dst, '\n')
}

// AppendData appends an event with data only ("data: ...\n" per line, then a blank line),
// the shape of every OpenAI chat stream event. See [AppendEvent].
func AppendData(dst, data []byte) []byte {
	return AppendEvent(dst, nil, data)
}

// AppendComment appends an event made of comments only (": text\n" per line of text,
// then a blank line), such as the keep-alive ": ping". Clients ignore it.
func AppendComment(dst, text []byte) []byte {
	dst = appendLines(dst, ": ", text)
	return append(dst, '\n')
}

// appendLines appends prefix+line+"\n" for each line of text, splitting at "\n", "\r\n"
// and "\r". Empty text is one empty line.
func appendLines(dst []byte, prefix string, text []byte) []byte {
	for {
		dst = append(dst, prefix...)
		i := indexEOL(text)
		if i < 0 {
			dst = append(dst, text...)
			return append(dst, '\n')
		}
		dst = append(dst, text[:i]...)
		dst = append(dst, '\n')
		if text[i] == '\r' && i+1 < len(text) && text[i+1] == '\n' {
			i++
		}
		text = text[i+1:]
	}
}

// indexEOL returns the index of the first '\r' or '\n' in s, or -1.
func indexEOL(s []byte) int {
	n := bytes.IndexByte(s, '\n')
	if n < 0 {
		n = len(s)
	}
	if c := bytes.IndexByte(s[:n], '\r'); c >= 0 {
		return c
	}
	if n < len(s) {
		return n
	}
	return -1
}

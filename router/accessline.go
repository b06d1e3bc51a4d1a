package router

import "strconv"

// Bounds of the client's strings in an access line, before escaping: a
// line stays short however long the request's target or Host.
const (
	maxLogPath   = 512
	maxLogHost   = 256
	maxLogMethod = 32
	maxLogOwn    = 128 // release and instance, slipway's own
)

// appendAccessLine appends e's access line to dst, with fields in this
// order, the last one only on a response the router made itself:
//
//	method=GET path=/ host=shop.example.com status=200 bytes=1532 service=3ms release=v4 instance=web.2 pinned=yes error=bad_gateway
//
// Values from the client (method, path, host) are cleaned by
// appendValue, so that no request can end the line or add a field.
func appendAccessLine(dst []byte, e *accessEntry) []byte {
	dst = append(dst, "method="...)
	dst = appendValue(dst, e.method, maxLogMethod)
	dst = append(dst, " path="...)
	dst = appendValue(dst, e.path, maxLogPath)
	dst = append(dst, " host="...)
	dst = appendValue(dst, e.host, maxLogHost)
	dst = append(dst, " status="...)
	dst = strconv.AppendInt(dst, int64(e.status), 10)
	dst = append(dst, " bytes="...)
	dst = strconv.AppendInt(dst, e.bytes, 10)
	dst = append(dst, " service="...)
	dst = strconv.AppendInt(dst, e.service.Milliseconds(), 10)
	dst = append(dst, "ms release="...)
	dst = appendValue(dst, orDash(e.release), maxLogOwn)
	dst = append(dst, " instance="...)
	dst = appendValue(dst, orDash(e.instance), maxLogOwn)
	if e.pinned {
		dst = append(dst, " pinned=yes"...)
	} else {
		dst = append(dst, " pinned=no"...)
	}
	if e.fault != faultNone && int(e.fault) < len(faultNames) {
		dst = append(dst, " error="...)
		dst = append(dst, faultNames[e.fault]...)
	}
	return dst
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// appendValue appends s, cut to max bytes ("..." marks a cut), as a
// logfmt value: as it is when it is printable ASCII with no space, quote,
// backslash or equals sign, else in double quotes (path="/a b") with a
// quote or backslash escaped by a backslash and every other byte outside
// printable ASCII written as \n, \r, \t or \xNN. No byte of a client's
// value can end the line, start a field, or reach a terminal as a
// control: non-ASCII bytes are escaped too, so no Unicode line separator
// or direction override passes either.
func appendValue(dst []byte, s string, max int) []byte {
	cut := len(s) > max
	if cut {
		s = s[:max]
	}
	if plainValue(s) {
		dst = append(dst, s...)
		if cut {
			dst = append(dst, "..."...)
		}
		return dst
	}
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c >= 0x20 && c < 0x7f:
			dst = append(dst, c)
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'x', hex[c>>4], hex[c&0xf])
		}
	}
	if cut {
		dst = append(dst, "..."...)
	}
	return append(dst, '"')
}

// plainValue reports whether s may stand unquoted in a line: not empty,
// printable ASCII, no space, quote, backslash or equals sign.
func plainValue(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '"' || c == '\\' || c == '=' {
			return false
		}
	}
	return true
}

package httphead

import (
	"bytes"
	"net/http"
	"net/textproto"
)

var (
	crlf     = []byte("\r\n")
	crlfcrlf = []byte("\r\n\r\n")
	colon    = []byte(":")
)

// Split finds the head at the start of buf: its first line (the request
// or status line, without its CRLF), its header lines (each with its CRLF,
// for Lines), and its length with the blank line that ends it; n is 0 when
// buf does not hold a whole head.
func Split(buf []byte) (line, fields []byte, n int) {
	end := bytes.Index(buf, crlfcrlf)
	if end < 0 {
		return nil, nil, 0
	}
	i := bytes.Index(buf[:end+2], crlf)
	return buf[:i], buf[i+2 : end+2], end + len(crlfcrlf)
}

// Lines walks the header lines in b, each ended by CRLF (the blank line
// after them not included), and calls field with each line's name and raw
// value. It returns how many lines there are, and false at the first line
// textproto would not take as it is (or would fold into the one before)
// or for which field returns false.
func Lines(b []byte, field func(name, value []byte) bool) (int, bool) {
	n := 0
	for len(b) > 0 {
		i := bytes.Index(b, crlf)
		if i < 0 {
			return n, false
		}
		line := b[:i]
		b = b[i+2:]
		name, value, ok := bytes.Cut(line, colon)
		if !ok || !validName(name) || !validValue(value) || !field(name, value) {
			return n, false
		}
		n++
	}
	return n, true
}

// Fill builds the header of s, the n lines Lines took, as a string: one
// slice holds every value, each a part of s, and each key is canonical as
// textproto makes it.
func Fill(s string, n int) http.Header {
	h := make(http.Header, n)
	Add(h, s, n, nil)
	return h
}

// Add adds the n lines of s that Lines took to h, after what h holds for
// their names, as Fill would build them, but for those whose canonical
// name skip reports (skip may be nil). The values of new names share one
// slice.
func Add(h http.Header, s string, n int, skip func(key string) bool) {
	values := make([]string, n)
	for i := range n {
		line := s
		if j := indexCRLF(s); j >= 0 {
			line, s = s[:j], s[j+2:]
		}
		c := indexColon(line)
		key := Canonical(line[:c])
		if skip != nil && skip(key) {
			continue
		}
		values[i] = TrimOWS(line[c+1:])
		if prior, ok := h[key]; ok {
			h[key] = append(prior, values[i])
		} else {
			h[key] = values[i : i+1 : i+1]
		}
	}
}

// Next splits off the first of the lines s holds that Lines took: its
// name as it came, its value with the spaces and tabs around it trimmed,
// and the lines after it.
func Next(s string) (name, value, rest string) {
	line := s
	if j := indexCRLF(s); j >= 0 {
		line, rest = s[:j], s[j+2:]
	}
	c := indexColon(line)
	return line[:c], TrimOWS(line[c+1:]), rest
}

// Is reports whether name is want, a canonical header name, in any case.
func Is[T string | []byte](name T, want string) bool {
	if len(name) != len(want) {
		return false
	}
	for i := 0; i < len(want); i++ {
		c, w := name[i], want[i]
		if c == w {
			continue
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if 'A' <= w && w <= 'Z' {
			w += 'a' - 'A'
		}
		if c != w || c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// ParseLength parses a Content-Length value (its spaces trimmed) as
// net/http does, -1 if it would not take it or if it is long enough that
// net/http should decide.
func ParseLength(b []byte) int64 {
	if len(b) == 0 || len(b) > 18 {
		return -1
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// TrimOWS drops the spaces and tabs around a header value, as textproto
// does.
func TrimOWS[T string | []byte](s T) T {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// CleanQuery reports whether httputil.ReverseProxy sends query q as it
// is: it re-encodes, dropping what does not parse, a query with a
// semicolon or a malformed escape.
func CleanQuery(q string) bool {
	for i := 0; i < len(q); i++ {
		switch q[i] {
		case ';':
			return false
		case '%':
			if i+2 >= len(q) || !IsHex(q[i+1]) || !IsHex(q[i+2]) {
				return false
			}
			i += 2
		}
	}
	return true
}

// IsHex reports whether c is a hexadecimal digit.
func IsHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func indexCRLF(s string) int {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '\r' && s[i+1] == '\n' {
			return i
		}
	}
	return -1
}

func indexColon(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			return i
		}
	}
	return -1
}

// validName reports whether b is a header name of token characters only
// (RFC 9110 §5.6.2). textproto also takes names with spaces, without
// canonicalizing them: those are left to it.
func validName(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c >= 0x80 || !isToken[c] {
			return false
		}
	}
	return true
}

// validValue reports whether b holds only what textproto allows in a
// header value: visible characters, space, tab and obs-text. A bare LF
// inside a line is refused here too.
func validValue(b []byte) bool {
	for _, c := range b {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// Canonical is textproto.CanonicalMIMEHeaderKey of a name Lines took,
// without allocating for the names clients and apps usually send.
func Canonical(name string) string {
	if k, ok := commonKeys[name]; ok {
		return k
	}
	return textproto.CanonicalMIMEHeaderKey(name)
}

// commonKeys maps the usual spellings of common header names to their
// canonical form.
var commonKeys = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{
		"Accept", "Accept-Encoding", "Accept-Language", "Accept-Ranges", "Access-Control-Allow-Credentials",
		"Access-Control-Allow-Headers", "Access-Control-Allow-Methods", "Access-Control-Allow-Origin",
		"Access-Control-Expose-Headers", "Access-Control-Max-Age", "Age", "Alt-Svc", "Authorization",
		"Cache-Control", "Connection", "Content-Disposition", "Content-Encoding", "Content-Language",
		"Content-Length", "Content-Location", "Content-Range", "Content-Security-Policy", "Content-Type",
		"Cookie", "Date", "Dnt", "Etag", "Expires", "Host", "If-Modified-Since", "If-None-Match", "Keep-Alive",
		"Last-Modified", "Link", "Location", "Origin", "Pragma", "Priority", "Referer", "Referrer-Policy",
		"Retry-After", "Sec-Ch-Ua", "Sec-Ch-Ua-Mobile", "Sec-Ch-Ua-Platform", "Sec-Fetch-Dest",
		"Sec-Fetch-Mode", "Sec-Fetch-Site", "Sec-Fetch-User", "Server", "Set-Cookie",
		"Strict-Transport-Security", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
		"Upgrade-Insecure-Requests", "User-Agent", "Vary", "Via", "Www-Authenticate", "X-Content-Type-Options",
		"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Frame-Options", "X-Powered-By",
		"X-Real-Ip", "X-Request-Id", "X-Requested-With", "X-Xss-Protection",
	} {
		m[k] = k
		m[lower(k)] = k
	}
	m["ETag"] = "Etag"
	m["WWW-Authenticate"] = "Www-Authenticate"
	m["DNT"] = "Dnt"
	m["TE"] = "Te"
	m["X-Real-IP"] = "X-Real-Ip"
	return m
}()

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// isToken marks the token characters of RFC 9110 §5.6.2.
var isToken = func() (t [128]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

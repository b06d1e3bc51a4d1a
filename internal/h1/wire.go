// Writing a response head on the wire: status lines, header fields, the
// Date value.

package h1

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"
)

var (
	crlf       = []byte("\r\n")
	colonSpace = []byte(": ")
)

func bodyAllowed(status int) bool {
	return !(status >= 100 && status <= 199 || status == 204 || status == 304)
}

func suppressed(status int) []string {
	if status == 304 {
		return []string{"Content-Type", "Content-Length", "Transfer-Encoding"}
	}
	return []string{"Content-Length", "Transfer-Encoding"}
}

// noBodyHeaders are the header keys no informational response carries.
var noBodyHeaders = map[string]bool{"Content-Length": true, "Transfer-Encoding": true}

// statusLines is "CODE TEXT\r\n" for the codes http.StatusText knows.
var statusLines = func() (lines [600]string) {
	for code := 100; code < 600; code++ {
		if text := http.StatusText(code); text != "" {
			lines[code] = strconv.Itoa(code) + " " + text + "\r\n"
		}
	}
	return lines
}()

func writeStatusLine(bw *bufio.Writer, is11 bool, code int) {
	if is11 {
		bw.WriteString("HTTP/1.1 ")
	} else {
		bw.WriteString("HTTP/1.0 ")
	}
	if code >= 100 && code < 600 && statusLines[code] != "" {
		bw.WriteString(statusLines[code])
		return
	}
	if text := http.StatusText(code); text != "" {
		bw.WriteString(strconv.Itoa(code))
		bw.WriteByte(' ')
		bw.WriteString(text)
	} else {
		bw.WriteString(strconv.Itoa(code))
		bw.WriteString(" status code ")
		bw.WriteString(strconv.Itoa(code))
	}
	bw.Write(crlf)
}

// writeHeader writes h but the keys in exclude and those with
// http.TrailerPrefix, as http.Header.WriteSubset does: invalid names
// skipped, CR and LF in values made spaces (no response splitting).
func writeHeader(bw *bufio.Writer, h http.Header, exclude map[string]bool) {
	for k, vv := range h {
		if exclude[k] || strings.HasPrefix(k, http.TrailerPrefix) || !httpguts.ValidHeaderFieldName(k) {
			continue
		}
		for _, v := range vv {
			writeField(bw, k, v)
		}
	}
}

var newlineToSpace = strings.NewReplacer("\n", " ", "\r", " ")

func writeField(bw *bufio.Writer, k, v string) {
	if strings.ContainsAny(v, "\r\n") {
		v = newlineToSpace.Replace(v)
	}
	bw.WriteString(k)
	bw.Write(colonSpace)
	bw.WriteString(strings.TrimSpace(v))
	bw.Write(crlf)
}

// httpDate is the Date header's value, formatted once a second.
func httpDate() []byte {
	now := time.Now().Unix()
	if d := date.Load(); d != nil && d.sec == now {
		return d.b
	}
	d := &dateValue{sec: now, b: time.Unix(now, 0).UTC().AppendFormat(nil, http.TimeFormat)}
	date.Store(d)
	return d.b
}

type dateValue struct {
	sec int64
	b   []byte
}

var date atomic.Pointer[dateValue]

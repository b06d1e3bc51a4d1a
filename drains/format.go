package drains

import (
	"bytes"
	"strconv"
	"time"

	"github.com/slipway/slipway"
)

// maxMessage bounds one syslog message (its header included), rsyslog's
// default $MaxMessageSize: a longer line is sent as several messages, so
// that no receiver truncates it.
const maxMessage = 8192

// RFC 5424's bounds of the header fields.
const (
	maxHostname = 255
	maxAppName  = 48
	maxProcID   = 128
)

// Priorities: facility local7 for the apps' output and local3 for the
// router's access lines, severity info, as Heroku's logplex sends them.
const (
	priApp    = "<190>"
	priRouter = "<158>"
)

// timeLayout is RFC 5424's TIMESTAMP, in UTC to the millisecond as the
// app log writes it.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// header is what a message's fields are made of, sanitized once per drain
// (host and app) or per line (the rest).
type header struct {
	host, app string
}

// newHeader sanitizes the fields that are the same for each of a drain's
// messages.
func newHeader(hostname, app string) header {
	return header{host: field(hostname, maxHostname), app: field(app, maxAppName)}
}

// field makes s a header field RFC 5424 takes: printable US-ASCII, no
// spaces, at most n bytes, "-" when empty. Slipway writes these names,
// but they must not shift the fields after them whatever they hold.
func field(s string, n int) string {
	b := []byte(s)
	if len(b) > n {
		b = b[:n]
	}
	for i, c := range b {
		if c < 33 || c > 126 {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "-"
	}
	return string(b)
}

// appendFrames appends line, one line of an app log as AppLog writes it
// ("2026-12-07T22:30:01.123Z web.1 v3: text\n" or "... router: text\n"),
// as octet-counted RFC 5424 messages (RFC 6587: "LEN SP MSG"):
//
//	<190>1 2026-12-07T22:30:01.123Z HOST APP web.1 - - text
//
// TIMESTAMP is the line's, PROCID its process; the text goes as it is,
// any bytes (invalid UTF-8, control characters): the count frames it, so
// nothing in it can end a message early. A line whose text does not fit
// in maxMessage is sent as several messages. It returns how many.
func appendFrames(dst []byte, h header, line []byte, now time.Time) ([]byte, int) {
	ts, proc, text := parseLine(line, now)
	pri := priApp
	if proc == slipway.RouterProcess {
		pri = priRouter
	}
	var head []byte
	head = append(head, pri...)
	head = append(head, "1 "...)
	head = append(head, ts...)
	head = append(head, ' ')
	head = append(head, h.host...)
	head = append(head, ' ')
	head = append(head, h.app...)
	head = append(head, ' ')
	head = append(head, field(proc, maxProcID)...)
	head = append(head, " - - "...)
	room := max(maxMessage-len(head), 512)
	n := 0
	for {
		part := text[:min(len(text), room)]
		text = text[len(part):]
		dst = strconv.AppendInt(dst, int64(len(head)+len(part)), 10)
		dst = append(dst, ' ')
		dst = append(dst, head...)
		dst = append(dst, part...)
		n++
		if len(text) == 0 {
			return dst, n
		}
	}
}

// parseLine splits an app log's line into its time, process and text.
// A line not of that shape (none is) goes whole, at now, from "-".
func parseLine(line []byte, now time.Time) (ts, proc string, text []byte) {
	line = bytes.TrimSuffix(line, []byte("\n"))
	stamp, rest, ok := bytes.Cut(line, []byte(" "))
	if ok {
		if t, err := time.Parse(time.RFC3339Nano, string(stamp)); err == nil {
			if head, msg, ok := bytes.Cut(rest, []byte(": ")); ok {
				id, _, _ := bytes.Cut(head, []byte(" ")) // "web.1 v3": the release is not sent
				return t.UTC().Format(timeLayout), string(id), msg
			}
		}
	}
	return now.UTC().Format(timeLayout), "-", line
}

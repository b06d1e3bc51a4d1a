package drains

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 12, 8, 1, 2, 3, 456e6, time.UTC)

// Each line is one octet-counted RFC 5424 message, byte for byte.
func TestAppendFrames_ByteExact(t *testing.T) {
	h := newHeader("slipway-host", "shop")
	for _, tc := range []struct {
		name, line, want string
	}{
		{"app", "2026-12-07T22:30:01.123Z web.1 v3: listening on :5000\n",
			"78 <190>1 2026-12-07T22:30:01.123Z slipway-host shop web.1 - - listening on :5000"},
		{"router", "2026-12-07T22:30:01.123Z router: method=GET path=/ status=200\n",
			"89 <158>1 2026-12-07T22:30:01.123Z slipway-host shop router - - method=GET path=/ status=200"},
		{"empty text", "2026-12-07T22:30:01.123Z worker.2 v10: \n",
			"63 <190>1 2026-12-07T22:30:01.123Z slipway-host shop worker.2 - - "},
		{"text with colons", "2026-12-07T22:30:01.123Z web.1 v3: a: b: c\n",
			"67 <190>1 2026-12-07T22:30:01.123Z slipway-host shop web.1 - - a: b: c"},
		{"not a log line", "garbage without a time",
			"78 <190>1 2026-12-08T01:02:03.456Z slipway-host shop - - - garbage without a time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, n := appendFrames(nil, h, []byte(tc.line), now)
			if string(got) != tc.want || n != 1 {
				t.Errorf("got %d frames %q\nwant      %q", n, got, tc.want)
			}
		})
	}
}

// Whatever bytes an app writes, invalid UTF-8, control characters, a
// carriage return, something that looks like a frame, go as they are,
// and each message ends where its count says.
func TestAppendFrames_HostileTextKeepsTheFraming(t *testing.T) {
	h := newHeader("slipway-host", "shop")
	texts := []string{"\xff\xfe not utf-8 \xc3", "bell\a nul\x00 esc\x1b[31m", "cr\rin the middle", "12 <190>1 fake frame", "tab\there"}
	var stream []byte
	for _, text := range texts {
		stream, _ = appendFrames(stream, h, logLine("web.1 v1", text), now)
	}
	var got []string
	if err := readFrames(bytes.NewReader(stream), func(m string) { got = append(got, m) }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(texts) {
		t.Fatalf("%d messages, want %d: %q", len(got), len(texts), got)
	}
	for i, m := range got {
		if msg := parseMessage(t, m); msg.text != texts[i] || msg.proc != "web.1" || msg.app != "shop" {
			t.Errorf("message %d = %+v, want text %q", i, msg, texts[i])
		}
	}
}

// The header fields stay fields whatever the names hold, within RFC
// 5424's lengths.
func TestNewHeader_SanitizesFields(t *testing.T) {
	h := newHeader("my host\n", strings.Repeat("a", 63))
	if h.host != "my_host_" || h.app != strings.Repeat("a", maxAppName) {
		t.Errorf("header = %+v", h)
	}
	if h := newHeader("", "shop"); h.host != "-" {
		t.Errorf("empty host = %q, want -", h.host)
	}
	got, _ := appendFrames(nil, newHeader("h", "a"), logLine("we b.1", "x"), now)
	if msg := parseMessage(t, string(got[bytes.IndexByte(got, ' ')+1:])); msg.proc != "we" || msg.text != "x" {
		t.Errorf("message = %+v", msg)
	}
}

// A line too long for one message goes as several, none longer than
// maxMessage, which together hold all of it.
func TestAppendFrames_SplitsLongLines(t *testing.T) {
	text := strings.Repeat("0123456789", 2000) // 20 000 bytes
	stream, n := appendFrames(nil, newHeader("h", "shop"), logLine("web.1 v1", text), now)
	var got []string
	if err := readFrames(bytes.NewReader(stream), func(m string) { got = append(got, m) }); err != nil {
		t.Fatal(err)
	}
	if n != 3 || len(got) != n {
		t.Fatalf("%d messages (%d read), want 3", n, len(got))
	}
	var whole strings.Builder
	for _, m := range got {
		if len(m) > maxMessage {
			t.Errorf("a message of %d bytes", len(m))
		}
		whole.WriteString(parseMessage(t, m).text)
	}
	if whole.String() != text {
		t.Errorf("the parts do not make the line")
	}
}

package termsafe

import (
	"io"
	"unicode"
	"unicode/utf8"
)

// maxSGR bounds a colour sequence; a longer one is not passed.
const maxSGR = 32

// replacement stands for what was taken out.
const replacement = "\uFFFD"

// Clean returns s with everything that could drive a terminal replaced.
func Clean(s string) string {
	out, _ := clean(nil, []byte(s), true, true)
	return string(out)
}

// Plain is Clean without the colours: for text shown other than on a
// terminal (the admin page), where a colour sequence is noise.
func Plain(s string) string {
	out, _ := clean(nil, []byte(s), true, false)
	return string(out)
}

// clean appends the safe form of p to dst. Unless final, it stops before
// an incomplete rune or SGR sequence at the end of p and returns how many
// bytes of p it has not used.
func clean(dst, p []byte, final, colour bool) ([]byte, int) {
	for i := 0; i < len(p); {
		c := p[i]
		switch {
		case c == '\n' || c == '\t':
			dst = append(dst, c)
			i++
		case c == '\r':
			if i+1 == len(p) && !final {
				return dst, len(p) - i // a CRLF may follow
			}
			if i+1 < len(p) && p[i+1] == '\n' {
				i++ // CRLF: the newline says it
				continue
			}
			dst = append(dst, '\n')
			i++
		case c == 0x1b:
			n, complete := sgrLen(p[i:])
			if !complete && !final && len(p)-i < maxSGR {
				return dst, len(p) - i
			}
			if n > 0 {
				if colour {
					dst = append(dst, p[i:i+n]...)
				}
				i += n
				continue
			}
			dst = append(dst, replacement...)
			i++
		case c < 0x20 || c == 0x7f:
			dst = append(dst, replacement...)
			i++
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			i++
		default:
			if !final && !utf8.FullRune(p[i:]) {
				return dst, len(p) - i
			}
			r, size := utf8.DecodeRune(p[i:])
			if r == utf8.RuneError || !unicode.IsPrint(r) && !unicode.IsSpace(r) || r >= 0x80 && r < 0xa0 {
				dst = append(dst, replacement...)
			} else {
				dst = append(dst, p[i:i+size]...)
			}
			i += size
		}
	}
	return dst, 0
}

// sgrLen returns the length of the SGR sequence (ESC [ digits ; : m) that p
// starts with, 0 if it starts none, and whether p held enough to tell.
func sgrLen(p []byte) (int, bool) {
	if len(p) < 2 {
		return 0, false
	}
	if p[1] != '[' {
		return 0, true
	}
	for i := 2; i < len(p) && i < maxSGR; i++ {
		switch c := p[i]; {
		case c == 'm':
			return i + 1, true
		case c >= '0' && c <= '9' || c == ';' || c == ':':
		default:
			return 0, true
		}
	}
	return 0, len(p) >= maxSGR
}

// Writer cleans what is written through it. It holds back at most a few
// bytes of an incomplete rune or colour sequence until the next Write or
// Flush.
type Writer struct {
	w       io.Writer
	pending []byte
	buf     []byte
}

// NewWriter returns a Writer writing the cleaned text to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write cleans p and writes it; it reports all of p written unless w
// failed.
func (w *Writer) Write(p []byte) (int, error) {
	data := p
	if len(w.pending) > 0 {
		data = append(w.pending, p...)
	}
	out, rest := clean(w.buf[:0], data, false, true)
	w.buf = out
	w.pending = append(w.pending[:0], data[len(data)-rest:]...)
	if len(out) > 0 {
		if _, err := w.w.Write(out); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// Flush writes what is held back, cleaned as the end of the text.
func (w *Writer) Flush() error {
	if len(w.pending) == 0 {
		return nil
	}
	out, _ := clean(nil, w.pending, true, true)
	w.pending = w.pending[:0]
	_, err := w.w.Write(out)
	return err
}

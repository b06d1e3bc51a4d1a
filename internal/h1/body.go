// The request body as a handler reads it.

package h1

import (
	"io"
	"net/http"
	"sync"
)

// requestBody is a request's body as the handler reads it: 100 Continue
// sent at the first read when the client waits for it, Close that stops
// reading instead of reading the rest away (the server decides that).
type requestBody struct {
	mu             sync.Mutex // a transport may still read it from its own goroutine
	rc             io.ReadCloser
	w              *response
	expectContinue bool
	continued      bool // 100 Continue went out
	sawEOF         bool
	closed         bool
}

func (b *requestBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	if b.expectContinue && !b.continued && !b.w.continueSent {
		b.continued = true
		b.w.continueSent = true
		bw := b.w.conn.bw
		bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
		bw.Flush()
	}
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.sawEOF = true
	}
	return n, err
}

func (b *requestBody) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	return nil
}

// state returns whether the body was read to its end and whether it was
// closed, under its lock: a handler (a reverse proxy's transport) may
// still read it on a goroutine of its own while the response is written.
func (b *requestBody) state() (sawEOF, closed bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sawEOF, b.closed
}

// done reports whether nothing more is to be read of the body.
func (b *requestBody) done() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sawEOF
}

// discard reads what is left of the body away, up to
// maxPostHandlerReadBytes, and reports whether it got to its end.
func (b *requestBody) discard() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.sawEOF {
		return true
	}
	if b.expectContinue && !b.continued {
		return false // the client did not send it: the connection closes
	}
	_, err := io.CopyN(io.Discard, b.rc, maxPostHandlerReadBytes+1)
	if err == io.EOF {
		b.sawEOF = true
		return true
	}
	return false
}

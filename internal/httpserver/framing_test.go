package httpserver

import "testing"

func FuzzFramingConn(f *testing.F) {
	f.Add([]byte("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 5)
	f.Add([]byte("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;x\r\nabc\r\n0\r\nT: 1\r\n\r\nGET / HTTP/1.1\r\n\r\n"), 1)
	f.Add([]byte("GET / HTTP/1.1\nHost: a\n\nPOST / HTTP/1.1\nContent-Length: 2\n\nab"), 7)
	f.Fuzz(func(t *testing.T, data []byte, chunk int) {
		whole := newFramingConn(nil)
		whole.follow(data)
		// Read in pieces, the stream is followed the same.
		parts := newFramingConn(nil)
		if chunk < 1 {
			chunk = 1
		}
		for p := data; len(p) > 0; {
			n := min(chunk, len(p))
			parts.follow(p[:n])
			p = p[n:]
		}
		if whole.ambiguous.Load() != parts.ambiguous.Load() || whole.state != parts.state {
			t.Fatalf("in pieces of %d: ambiguous %v state %d; at once %v %d", chunk,
				parts.ambiguous.Load(), parts.state, whole.ambiguous.Load(), whole.state)
		}
	})
}

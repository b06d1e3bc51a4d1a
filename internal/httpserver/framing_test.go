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

// BenchmarkFramingFollow follows a browser's GET, the usual request, read
// whole in one read.
func BenchmarkFramingFollow(b *testing.B) {
	head := []byte("GET /index.html?q=1 HTTP/1.1\r\nHost: app.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/133.0\r\n" +
		"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\n" +
		"Connection: keep-alive\r\nCookie: slipway_affinity=aw9KCwJ2MXdlYi4yLp86zM4bd2WRDEyktBPmAA; theme=dark\r\nUpgrade-Insecure-Requests: 1\r\n\r\n")
	c := newFramingConn(nil)
	b.SetBytes(int64(len(head)))
	for b.Loop() {
		c.follow(head)
	}
	if c.state != fHeaders || c.ambiguous.Load() {
		b.Fatalf("state %d, ambiguous %v after GETs", c.state, c.ambiguous.Load())
	}
}

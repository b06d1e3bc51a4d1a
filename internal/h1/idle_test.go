package h1

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"testing"
	"time"
)

// BenchmarkIdleConnMemory reports what an idle keep-alive connection
// costs the server after one request (heap and stacks), as B/conn:
//
//	go test -run '^$' -bench IdleConnMemory ./internal/h1
func BenchmarkIdleConnMemory(b *testing.B) {
	for _, std := range []bool{false, true} {
		name := map[bool]string{false: "h1", true: "net-http"}[std]
		b.Run(name, func(b *testing.B) {
			const n = 2000
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello world\n") })
			if std {
				srv := &http.Server{Handler: h}
				go srv.Serve(ln)
				defer srv.Close()
			} else {
				srv := &Server{Handler: h}
				go srv.Serve(ln)
				defer srv.Close()
			}
			for range b.N {
				before := inUse()
				conns := make([]net.Conn, 0, n)
				for range n {
					c, err := net.Dial("tcp", ln.Addr().String())
					if err != nil {
						b.Fatal(err)
					}
					fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
					resp, err := http.ReadResponse(bufio.NewReader(c), nil)
					if err != nil {
						b.Fatal(err)
					}
					io.Copy(io.Discard, resp.Body)
					conns = append(conns, c)
				}
				time.Sleep(100 * time.Millisecond) // every server goroutine back to its idle wait
				after := inUse()
				b.ReportMetric(float64(after-before)/n, "B/conn")
				for _, c := range conns {
					c.Close()
				}
			}
		})
	}
}

// inUse is the heap and stack memory in use after a collection. The
// client side of the connections is in the same process; its part is the
// same for both servers.
func inUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}

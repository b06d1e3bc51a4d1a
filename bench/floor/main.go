package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ups := flag.String("upstreams", "", "comma-separated upstream addresses")
	flag.Parse()
	upstreams := strings.Split(*ups, ",")
	if *ups == "" {
		fmt.Fprintln(os.Stderr, "floor: -upstreams: want HOST:PORT[,HOST:PORT...]")
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintf(os.Stderr, "floor: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr())
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		<-sig
		ln.Close()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			return // closed on a signal
		}
		go serve(c, upstreams)
	}
}

type upstream struct {
	c  net.Conn
	br *bufio.Reader
}

var errUnexpected = errors.New("not a request or response floor serves")

// serve relays c's requests until it or an upstream fails.
func serve(c net.Conn, addrs []string) {
	defer c.Close()
	ups := make([]upstream, len(addrs))
	for i, a := range addrs {
		u, err := net.Dial("tcp", a)
		if err != nil {
			return
		}
		defer u.Close()
		ups[i] = upstream{u, bufio.NewReaderSize(u, 4096)}
	}
	br := bufio.NewReaderSize(c, 4096)
	out := make([]byte, 0, 4096)
	for next := 0; ; next = (next + 1) % len(ups) {
		head, err := readHead(br)
		if err != nil {
			return
		}
		u := ups[next]
		if _, err := u.c.Write(head); err != nil {
			return
		}
		res, err := readHead(u.br)
		if err != nil {
			return
		}
		n, err := contentLength(res)
		if err != nil || n > int64(u.br.Size()) {
			return
		}
		out = append(out[:0], res...)
		body, err := u.br.Peek(int(n))
		if err != nil {
			return
		}
		out = append(out, body...)
		u.br.Discard(int(n))
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}

// readHead returns the next message head in br, up to and with its blank
// line; it is valid until br is read again.
func readHead(br *bufio.Reader) ([]byte, error) {
	// Each round looks at all that is buffered, and waits for more only
	// when the blank line is not in it.
	for n := max(br.Buffered(), 1); ; n++ {
		b, err := br.Peek(n)
		n = len(b)
		if i := bytes.Index(b, []byte("\r\n\r\n")); i >= 0 {
			head, _ := br.Peek(i + 4)
			br.Discard(i + 4)
			return head, nil
		}
		if err != nil {
			if err == bufio.ErrBufferFull {
				err = errUnexpected
			}
			return nil, err
		}
	}
}

// contentLength is the Content-Length of a response head.
func contentLength(head []byte) (int64, error) {
	for line := range bytes.SplitSeq(head, []byte("\r\n")) {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if ok && bytes.EqualFold(name, []byte("Content-Length")) {
			value = bytes.TrimSpace(value)
			var n int64
			for _, d := range value {
				if d < '0' || d > '9' || n > 1<<40 {
					return 0, errUnexpected
				}
				n = n*10 + int64(d-'0')
			}
			if len(value) == 0 {
				return 0, errUnexpected
			}
			return n, nil
		}
	}
	return 0, io.ErrUnexpectedEOF
}

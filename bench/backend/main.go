package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

var body = []byte("hello world\n")

func main() {
	def := "127.0.0.1:0"
	if port := os.Getenv("PORT"); port != "" {
		def = "127.0.0.1:" + port // an instance slipway started
	}
	addr := flag.String("addr", def, "address to listen on; port 0 picks a free port")
	n := flag.Int("n", 1, "number of instances (listeners) to serve, each on its own port")
	flag.Parse()
	if *n < 1 {
		fmt.Fprintln(os.Stderr, "backend: -n must be at least 1")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, *n); err != nil {
		fmt.Fprintf(os.Stderr, "backend: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, addr string, n int) error {
	// The header values are built once: the handler then only copies slice
	// headers into the response, and the server does not sniff the type.
	length := []string{strconv.Itoa(len(body))}
	ctype := []string{"text/plain; charset=utf-8"}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			h := w.Header()
			h["Content-Length"] = length
			h["Content-Type"] = ctype
			w.Write(body)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	addrs := make([]string, 0, n)
	errc := make(chan error, n)
	for range n {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			srv.Close()
			return err
		}
		addrs = append(addrs, ln.Addr().String())
		go func() { errc <- srv.Serve(ln) }()
	}
	fmt.Println(strings.Join(addrs, " "))

	select {
	case <-ctx.Done():
	case err := <-errc:
		srv.Close()
		return err
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

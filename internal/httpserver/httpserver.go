package httpserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/slipway/slipway/internal/h1"
)

// Server is an http.Server with slipway's lifecycle: Start listens and
// serves in the background, Shutdown waits for requests to finish.
type Server struct {
	// Listener, when set before Start, is served instead of listening on
	// the address (a socket passed by the service manager).
	Listener net.Listener
	// TLSConfig, when set before Start, serves HTTPS: the certificates and
	// the ALPN protocols (HTTP/2 when it lists h2) come from it.
	TLSConfig *tls.Config
	// MaxHeaderLine bounds the request line and each header line, as
	// nginx's large_client_header_buffers does: 414 or 431 beyond, and the
	// connection closed. Set before Start; 0 means DefaultMaxHeaderLine.
	MaxHeaderLine int
	// Limit, when set, caps the open connections (see ConnLimit).
	Limit *ConnLimit
	// BodyTimeout, when set, ends a request whose body stops arriving for
	// that long with 408.
	BodyTimeout time.Duration
	// Lean, when set before Start, serves HTTP/1.x with internal/h1
	// instead of net/http's server; over TLS, HTTP/2 connections go to
	// x/net/http2's server.
	Lean bool

	name     string
	srv      *http.Server
	lean     *h1.Server // serving, when Lean
	h2       *h2conns   // the HTTP/2 connections h1 handed over, when Lean over TLS
	logger   *slog.Logger
	ln       net.Listener
	done     chan struct{}
	draining atomic.Bool  // Drain: every answer closes its connection
	conns    atomic.Int64 // open client connections
	refused  atomic.Uint64
}

// FramingRefused returns how many requests were refused (400 and a close)
// because their framing was ambiguous: see framingConn.
func (s *Server) FramingRefused() uint64 { return s.refused.Load() }

// New returns a Server called name (for the log) for h on addr.
func New(name, addr string, h http.Handler, logger *slog.Logger) *Server {
	s := &Server{name: name, logger: logger}
	s.srv = &http.Server{
		Addr:           addr,
		Handler:        &front{s: s, h: h},
		MaxHeaderBytes: DefaultMaxHeaderBytes,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if fc, ok := c.(*framingConn); ok {
				return context.WithValue(ctx, framingKey{}, fc)
			}
			return ctx
		},
		ConnState: func(_ net.Conn, st http.ConnState) {
			switch st {
			case http.StateNew:
				s.conns.Add(1)
			case http.StateClosed, http.StateHijacked:
				s.conns.Add(-1)
			}
		},
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	return s
}

// front is the handler a Server serves with: its checks, then h.
type front struct {
	s *Server
	h http.Handler
}

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := f.s
	if s.draining.Load() {
		w.Header().Set("Connection", "close")
	}
	if ambiguousFraming(r.Context()) {
		s.refused.Add(1)
		refuseAmbiguous(w)
		return
	}
	if code := s.headerTooLong(r); code != 0 {
		w.Header().Set("Connection", "close")
		http.Error(w, http.StatusText(code), code)
		return
	}
	if s.BodyTimeout > 0 && r.Body != nil && r.Body != http.NoBody {
		body := &progressBody{ReadCloser: r.Body, rc: http.NewResponseController(w), timeout: s.BodyTimeout}
		r.Body = body
		w = &bodyTimeoutWriter{ResponseWriter: w, body: body}
	}
	f.h.ServeHTTP(w, r)
}

// ServeSimple implements h1.SimpleHandler: an exchange that passes the
// checks ServeHTTP makes goes to the first h1.SimpleHandler down the chain
// of handlers h wraps (each that has an Unwrap() http.Handler method), if
// none on the way intercepts it (Intercepts(host, target string) bool:
// certs' ACME challenges and redirects); one that would not, or that
// comes while the server drains, is declined, for ServeHTTP. So only this
// server and the router know exchanges: a front handler sees requests.
func (f *front) ServeSimple(x *h1.Exchange) bool {
	if f.s.draining.Load() || ambiguousFraming(x.Context()) || f.s.linesTooLong(x) {
		return false
	}
	for h := f.h; ; {
		if ic, ok := h.(interceptor); ok && ic.Intercepts(x.Host(), x.Target()) {
			return false
		}
		if sh, ok := h.(h1.SimpleHandler); ok {
			return sh.ServeSimple(x)
		}
		u, ok := h.(interface{ Unwrap() http.Handler })
		if !ok {
			return false
		}
		h = u.Unwrap()
	}
}

// interceptor is a handler that answers some requests itself and passes
// the others on: see front.ServeSimple.
type interceptor interface {
	Intercepts(host, target string) bool
}

// Start listens and serves in the background.
func (s *Server) Start() error {
	ln := s.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", s.srv.Addr); err != nil {
			return fmt.Errorf("%s listen: %w", s.name, err)
		}
	}
	if s.Limit != nil {
		ln = &limitListener{Listener: ln, l: s.Limit}
	}
	switch {
	case s.Lean && s.TLSConfig != nil:
		// h1 does the handshakes; the framing check reads the plaintext.
		ln = framingListener{tls.NewListener(ln, s.TLSConfig)}
	case s.TLSConfig == nil:
		ln = framingListener{ln} // over TLS, net/http must see its *tls.Conn
	}
	s.ln = ln
	s.done = make(chan struct{})
	serve := s.srv.Serve
	switch {
	case s.TLSConfig != nil && !s.Lean:
		s.srv.TLSConfig = s.TLSConfig
		serve = func(ln net.Listener) error { return s.srv.ServeTLS(ln, "", "") }
	case s.Lean:
		s.lean = &h1.Server{
			Handler:           s.srv.Handler,
			ReadHeaderTimeout: s.srv.ReadHeaderTimeout,
			IdleTimeout:       s.srv.IdleTimeout,
			MaxHeaderBytes:    s.srv.MaxHeaderBytes,
			ConnContext:       s.srv.ConnContext,
			ConnState:         s.srv.ConnState,
			Logger:            s.logger,
		}
		if s.TLSConfig != nil {
			s.h2 = newH2Conns(s.srv)
			s.lean.TLSNextProto = map[string]func(*tls.Conn){"h2": s.h2.serve}
		}
		serve = s.lean.Serve
	}
	go func() {
		defer close(s.done)
		if err := serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && !(s.lean != nil && errors.Is(err, net.ErrClosed)) {
			s.logger.Error("server stopped", "service", s.name, "err", err)
		}
	}()
	s.logger.Info("listening", "service", s.name, "addr", ln.Addr().String())
	return nil
}

// Addr returns the bound address, or the configured one before Start.
func (s *Server) Addr() string {
	if s.ln != nil {
		return s.ln.Addr().String()
	}
	if s.Listener != nil {
		return s.Listener.Addr().String()
	}
	return s.srv.Addr
}

// refuseAmbiguous answers a request whose framing framingConn found
// ambiguous with 400 and closes its connection at once: its body cannot be
// told from the next request, so none of it is read.
func refuseAmbiguous(w http.ResponseWriter) {
	const msg = "400 bad request: the request's framing is ambiguous (Content-Length with Transfer-Encoding, two Content-Lengths, " +
		"a Transfer-Encoding other than chunked, Transfer-Encoding on HTTP/1.0, or a folded header line)\n"
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		w.Header().Set("Connection", "close")
		http.Error(w, strings.TrimSpace(msg), http.StatusBadRequest)
		return
	}
	defer conn.Close()
	fmt.Fprintf(buf, "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s", len(msg), msg)
	buf.Flush()
}

// Default header limits: nginx's 8 KB a line, and 64 KB in all (nginx
// allows 4 lines of 8 KB; more room for the cookies of real apps).
const (
	DefaultMaxHeaderLine  = 8 << 10
	DefaultMaxHeaderBytes = 64 << 10
)

// SetMaxHeaderBytes bounds the request line and headers in all (431
// beyond); call it before Start.
func (s *Server) SetMaxHeaderBytes(n int) { s.srv.MaxHeaderBytes = n }

// headerTooLong returns 414 for a request line, 431 for a header line over
// the limit, or 0.
func (s *Server) headerTooLong(r *http.Request) int {
	limit := s.lineLimit()
	if len(r.RequestURI)+len(r.Method)+len(r.Proto)+2 > limit {
		return http.StatusRequestURITooLong
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			if len(k)+2+len(v) > limit {
				return http.StatusRequestHeaderFieldsTooLarge
			}
		}
	}
	return 0
}

// lineLimit is MaxHeaderLine or its default.
func (s *Server) lineLimit() int {
	if s.MaxHeaderLine > 0 {
		return s.MaxHeaderLine
	}
	return DefaultMaxHeaderLine
}

// linesTooLong reports whether headerTooLong might refuse the exchange's
// request: it measures the lines as they came, with any blanks around
// their values, so it may say so of a request headerTooLong takes.
func (s *Server) linesTooLong(x *h1.Exchange) bool {
	limit := s.lineLimit()
	if len(x.Target())+len("GET HTTP/1.1")+1 > limit {
		return true
	}
	for rest := x.Fields(); rest != ""; {
		i := strings.Index(rest, "\r\n")
		if i+1 > limit { // "Name:value" is at least as long as "Name: value" trimmed, less one
			return true
		}
		rest = rest[i+2:]
	}
	return false
}

// Drain is Shutdown for a server another process goes on serving the
// listener of (an upgrade): for up to window it answers every request with
// Connection: close, so that clients open their next connection to the
// other process instead of having an idle one closed under them as they
// send on it, and then shuts down.
func (s *Server) Drain(ctx context.Context, window time.Duration) error {
	s.draining.Store(true)
	t := time.NewTicker(5 * time.Millisecond)
	deadline := time.Now().Add(window)
	for s.conns.Load() > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		<-t.C
	}
	t.Stop()
	return s.Shutdown(ctx)
}

// Shutdown stops accepting and waits for requests in flight until ctx is
// done, then closes what is left.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.ln == nil {
		return nil
	}
	if s.lean != nil {
		var h2err error
		if s.h2 != nil {
			h2err = s.h2.shutdown(ctx)
		}
		err := s.lean.Shutdown(ctx)
		<-s.done
		return errors.Join(err, h2err)
	}
	err := s.srv.Shutdown(ctx)
	if err != nil {
		s.srv.Close()
	}
	<-s.done
	return err
}

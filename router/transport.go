package router

import (
	"net"
	"net/http"
	"time"
)

// Defaults of the transport built by NewTransport.
const (
	// DefaultDialTimeout bounds connecting to an instance, so that a
	// request to a hung instance fails over quickly.
	DefaultDialTimeout = 5 * time.Second
	// DefaultMaxIdleConnsPerHost keeps enough warm connections to each
	// instance for a busy app, so requests rarely pay for a new connection.
	DefaultMaxIdleConnsPerHost = 256
	// DefaultIdleConnTimeout closes connections unused for this long.
	DefaultIdleConnTimeout = 90 * time.Second
)

// NewTransport returns the transport a Router uses when Config.Transport is
// nil, tuned for many requests to few local instances. It bounds dialing but
// not the wait for response headers, since apps may long-poll or stream. It
// ignores proxy environment variables, never asks for compression (the
// client's Accept-Encoding passes through instead) and speaks HTTP/1.1, which
// is what apps behind the router expect.
func NewTransport() *http.Transport {
	d := &net.Dialer{Timeout: DefaultDialTimeout, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		MaxIdleConns:          0, // no overall cap: each instance is bounded by MaxIdleConnsPerHost
		MaxIdleConnsPerHost:   DefaultMaxIdleConnsPerHost,
		IdleConnTimeout:       DefaultIdleConnTimeout,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     false,
		DisableCompression:    true,
	}
}

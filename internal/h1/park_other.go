//go:build !linux

package h1

import "time"

// parker is Linux's epoll set of parked connections; elsewhere an idle
// connection waits in a goroutine.
type parker struct{}

type parkedState struct{}

func (p *parker) stop()                                 {}
func (s *Server) park(c *conn, deadline time.Time) bool { return false }
func (s *Server) unparkAll()                            {}
func (s *Server) canPark(c *conn) bool                  { return false }

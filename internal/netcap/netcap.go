package netcap

import (
	"container/list"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
)

// Network returns the network a remote address ("host:port" or a bare
// host) is counted under: its /24 for IPv4, its /64 for IPv6; anything
// else (a unix socket's peer) counts as itself.
func Network(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	a = a.Unmap().WithZone("")
	bits := 64
	if a.Is4() {
		bits = 24
	}
	p, _ := a.Prefix(bits)
	return p.String()
}

// Table holds the connections counted against its caps. A zero cap is
// no cap. The zero Table is ready to use.
type Table struct {
	Total, PerNetwork int

	mu      sync.Mutex
	open    int
	seq     uint64
	byNet   map[string]*list.List // of *Entry, oldest first
	evicted atomic.Int64
}

// Entry is one connection in a Table.
type Entry struct {
	t     *Table
	net   string
	close func()
	seq   uint64        // order of arrival
	elem  *list.Element // nil once it left the table
}

// Evicted returns how many connections the table has closed to make
// room.
func (t *Table) Evicted() int64 { return t.evicted.Load() }

// Len returns how many connections the table holds.
func (t *Table) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.open
}

// Entry returns the entry of a new connection from remote addr, not
// counted yet (Add counts it); close ends the connection, should the
// table need its place.
func (t *Table) Entry(addr string, close func()) *Entry {
	return &Entry{t: t, net: Network(addr), close: close}
}

// Add counts the connection. The oldest connection of the network over
// its share is closed (outside the table's lock) when a cap is reached:
// the newcomer is always counted. An entry is added once.
func (e *Entry) Add() {
	t := e.t
	var out []*Entry
	t.mu.Lock()
	if t.byNet == nil {
		t.byNet = map[string]*list.List{}
	}
	if l := t.byNet[e.net]; t.PerNetwork > 0 && l != nil {
		for l.Len() >= t.PerNetwork {
			out = append(out, t.removeLocked(l.Front().Value.(*Entry)))
		}
	}
	for t.Total > 0 && t.open >= t.Total {
		out = append(out, t.removeLocked(t.biggest().Front().Value.(*Entry)))
	}
	l := t.byNet[e.net]
	if l == nil {
		l = list.New()
		t.byNet[e.net] = l
	}
	t.seq++
	e.seq = t.seq
	e.elem = l.PushBack(e)
	t.open++
	t.mu.Unlock()
	for _, o := range out {
		t.evicted.Add(1)
		o.close()
	}
}

// biggest returns the list of the network holding the most connections;
// of equals, the one whose oldest connection is oldest.
func (t *Table) biggest() *list.List {
	var best *list.List
	for _, l := range t.byNet {
		if best == nil || l.Len() > best.Len() ||
			l.Len() == best.Len() && l.Front().Value.(*Entry).seq < best.Front().Value.(*Entry).seq {
			best = l
		}
	}
	return best
}

func (t *Table) removeLocked(e *Entry) *Entry {
	l := t.byNet[e.net]
	l.Remove(e.elem)
	e.elem = nil
	if l.Len() == 0 {
		delete(t.byNet, e.net)
	}
	t.open--
	return e
}

// Remove takes the connection out of the table (it closed, or it no
// longer counts, as a login that succeeded). Removing twice is harmless.
func (e *Entry) Remove() {
	t := e.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if e.elem != nil {
		t.removeLocked(e)
	}
}

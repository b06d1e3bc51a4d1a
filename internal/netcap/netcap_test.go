package netcap

import (
	"fmt"
	"testing"
)

func TestNetwork(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7:22":              "192.0.2.0/24",
		"192.0.2.200:5000":          "192.0.2.0/24",
		"127.0.77.3:1":              "127.0.77.0/24",
		"[2001:db8:1:2:3:4:5:6]:22": "2001:db8:1:2::/64",
		"[::ffff:192.0.2.9]:80":     "192.0.2.0/24",
		"[fe80::1%eth0]:22":         "fe80::/64",
		"@":                         "@",
		"/run/slipway/admin.sock":   "/run/slipway/admin.sock",
	} {
		if got := Network(in); got != want {
			t.Errorf("Network(%q) = %q, want %q", in, got, want)
		}
	}
}

// conn is a connection of a test: its entry and whether the table
// closed it.
type conn struct {
	e      *Entry
	closed bool
}

func add(tb *Table, addr string) *conn {
	c := &conn{}
	c.e = tb.Entry(addr, func() { c.closed = true; c.e.Remove() })
	c.e.Add()
	return c
}

func open(cs []*conn) (n int) {
	for _, c := range cs {
		if !c.closed {
			n++
		}
	}
	return n
}

// One network's flood displaces only its own oldest connections; another
// network's connection stays.
func TestTable_AFloodDisplacesOnlyItself(t *testing.T) {
	tb := &Table{Total: 20, PerNetwork: 5}
	operator := add(tb, "198.51.100.1:4000")
	var flood []*conn
	for i := range 400 {
		flood = append(flood, add(tb, fmt.Sprintf("203.0.113.%d:%d", i%100, 1000+i)))
	}
	if operator.closed {
		t.Fatal("a flood from another network closed the operator's connection")
	}
	if n := open(flood); n != 5 {
		t.Errorf("%d of the flood's connections are open, want its network's cap of 5", n)
	}
	for _, c := range flood[len(flood)-5:] {
		if c.closed {
			t.Error("a newcomer was closed, not the oldest of its network")
		}
	}
	if tb.Len() != 6 || tb.Evicted() != 395 {
		t.Errorf("Len %d Evicted %d, want 6 and 395", tb.Len(), tb.Evicted())
	}
}

// Many networks together reach the total: the network holding the most
// gives up its oldest, so a newcomer from a network with one connection
// stays while the others make room.
func TestTable_AtTheTotalTheBiggestNetworkMakesRoom(t *testing.T) {
	tb := &Table{Total: 10, PerNetwork: 8}
	var big []*conn
	for i := range 8 {
		big = append(big, add(tb, fmt.Sprintf("203.0.113.1:%d", i)))
	}
	a := add(tb, "198.51.100.1:1")
	b := add(tb, "192.0.2.1:1")
	c := add(tb, "10.0.0.1:1")
	if a.closed || b.closed || c.closed {
		t.Fatal("a newcomer from a small network was closed")
	}
	if !big[0].closed || big[1].closed {
		t.Error("the biggest network's oldest connection was not the one closed")
	}
	if tb.Len() != 10 {
		t.Errorf("Len = %d, want the total 10", tb.Len())
	}
	// Networks of one each: the oldest of all goes.
	tb = &Table{Total: 3}
	first, second := add(tb, "192.0.2.1:1"), add(tb, "198.51.100.1:1")
	add(tb, "203.0.113.1:1")
	add(tb, "10.0.0.1:1")
	if !first.closed || second.closed {
		t.Error("of equal networks, the oldest connection was not the one closed")
	}
}

func TestEntry_RemoveTwiceIsHarmless(t *testing.T) {
	tb := &Table{Total: 2}
	c := add(tb, "192.0.2.1:1")
	c.e.Remove()
	c.e.Remove()
	if tb.Len() != 0 {
		t.Fatalf("Len = %d after removing the only entry twice", tb.Len())
	}
}

// Package netcap counts connections by the network they come from and
// makes room for a newcomer rather than refuse it.
//
// A cap by address does not hold against a client with many addresses
// (an IPv6 /64, a /24 of IPv4, any of 127.0.0.0/8 for a local process),
// and a cap that refuses newcomers once full is a lock anyone can hold
// by opening connections and keeping them idle. A Table counts by
// network (a /24 of IPv4, a /64 of IPv6) and, when a cap is reached,
// closes the oldest connection of the network that is over its share:
// the newcomer's own network at PerNetwork, the network holding the
// most at Total. One network's flood then only ever displaces itself,
// and a client from another network always gets in.
//
// Imports: internal/*.
package netcap

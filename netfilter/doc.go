// Package netfilter keeps the apps off slipway's own listeners with the
// kernel's packet filter: an iptables (and ip6tables) rule in the OUTPUT
// chain that resets every TCP connection from the apps' uids to
// slipway's ssh and admin ports on any local address.
//
// The rule matches the socket's owner (xt_owner), which is the app's uid
// whatever address the app binds or targets, and the destination being
// one of this host's addresses (xt_addrtype), so it holds for 127.0.0.1,
// the rest of 127.0.0.0/8 and the host's public addresses alike. It is
// kept in a chain of its own, SLIPWAY-<hash of the data dir>, jumped to
// from OUTPUT, so that slipways of different data dirs on one host never
// touch each other's rules and a restart replaces its own in one flush.
//
// A cgroup socket filter (BPF_CGROUP_INET4_CONNECT) would need cgroup v2,
// which slipway's limits do not rely on yet; the owner match works on
// both layouts and with the iptables binary every distribution ships.
//
// It runs iptables, as root only; without it (or without root) nothing
// keeps the apps off, and Shut says so.
//
// Imports: internal/*.
package netfilter

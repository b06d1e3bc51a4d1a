package router

import (
	"maps"
	"slices"
	"strings"
	"sync/atomic"
)

// hostTable is the apps' own domains: exact names, and wildcards by the
// name they stand under ("*.example.com" under "example.com"). It is
// never modified once stored.
type hostTable struct {
	exact map[string]string // domain → app
	wild  map[string]string // parent of a wildcard → app
	byApp map[string][]string
}

var emptyHosts = &hostTable{exact: map[string]string{}, wild: map[string]string{}, byApp: map[string][]string{}}

// SetDomains makes domains (as slipway.ParseDomain returns them) app's own
// names beside its default NAME.<domain>, replacing those it had; nil
// drops them. The change is one atomic step: a request sees the old names
// or the new ones.
func (r *Router) SetDomains(app string, domains []string) {
	app = strings.ToLower(app)
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.hosts.Load()
	next := &hostTable{exact: maps.Clone(old.exact), wild: maps.Clone(old.wild), byApp: maps.Clone(old.byApp)}
	for _, d := range old.byApp[app] {
		if parent, ok := strings.CutPrefix(d, "*."); ok {
			delete(next.wild, parent)
		} else {
			delete(next.exact, d)
		}
	}
	delete(next.byApp, app)
	if len(domains) > 0 {
		next.byApp[app] = slices.Clone(domains)
	}
	for _, d := range domains {
		if parent, ok := strings.CutPrefix(d, "*."); ok {
			next.wild[parent] = app
		} else {
			next.exact[d] = app
		}
	}
	r.hosts.Store(next)
}

// appName returns the app that a request's Host names: NAME for
// NAME.<domain>, else the owner of the host among the apps' own domains,
// exact names before wildcards and the closest wildcard first. It does
// not allocate unless the host has upper-case letters.
func (r *Router) appName(host string) (string, bool) {
	if strings.HasPrefix(host, "[") {
		return "", false // an IPv6 literal never names an app
	}
	if i := strings.IndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	host = strings.TrimSuffix(host, ".") // "app.example.com." is the same FQDN
	host = strings.ToLower(host)
	name, ok := host, true
	if r.suffix != "" {
		name, ok = strings.CutSuffix(host, r.suffix)
	}
	if ok && name != "" && strings.IndexByte(name, '.') < 0 {
		return name, true
	}
	return r.owner(host)
}

// owner returns the app whose own domains include host, lower-case.
func (r *Router) owner(host string) (string, bool) {
	t := r.hosts.Load()
	if app, ok := t.exact[host]; ok {
		return app, true
	}
	for rest := host; ; {
		i := strings.IndexByte(rest, '.')
		if i < 0 {
			return "", false
		}
		rest = rest[i+1:]
		if app, ok := t.wild[rest]; ok {
			return app, true
		}
	}
}

// Owns reports whether host (a TLS client's server name, say) names an
// app: one of the apps' own domains, or NAME.<domain> of an app the
// router serves.
func (r *Router) Owns(host string) bool {
	name, ok := r.appName(host)
	if !ok {
		return false
	}
	if _, own := r.owner(strings.ToLower(strings.TrimSuffix(host, "."))); own {
		return true
	}
	return (*r.apps.Load())[name] != nil
}

// OwnsExact reports whether host is exactly one of the apps' own domains
// (not a name a wildcard covers) or, with defaults, NAME.<domain> of an
// app the router serves: the names that may get certificates by HTTP-01
// or TLS-ALPN-01.
func (r *Router) OwnsExact(host string, defaults bool) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if _, ok := r.hosts.Load().exact[host]; ok {
		return true
	}
	if !defaults || r.suffix == "" {
		return false
	}
	name, ok := strings.CutSuffix(host, r.suffix)
	return ok && name != "" && !strings.Contains(name, ".") && (*r.apps.Load())[name] != nil
}

// AppFor returns the app a request's Host names (see appName).
func (r *Router) AppFor(host string) (string, bool) { return r.appName(host) }

// SetMaintenance puts app in maintenance (on) or takes it out: while in
// it, every request gets 503 with Retry-After and page (the app's own
// maintenance.html; a short default page when empty), and its instances
// see none; pools, sessions and deploys go on.
func (r *Router) SetMaintenance(app string, on bool, page []byte) {
	app = strings.ToLower(app)
	r.mu.Lock()
	defer r.mu.Unlock()
	next := maps.Clone(*r.maint.Load())
	if on {
		next[app] = slices.Clone(page)
	} else {
		delete(next, app)
	}
	r.maint.Store(&next)
}

// SetStopped marks app as stopped (ps:stop) or not: while it has no pool,
// its requests get a 503 page that says it is stopped instead of 404.
func (r *Router) SetStopped(app string, stopped bool) { r.setFlag(&r.stopped, app, stopped) }

// SetUndeployed marks app as one that exists with no release yet (made by
// apps:create) or not: while it has no pool, its requests get a 404 page
// that says so, not that there is no such app.
func (r *Router) SetUndeployed(app string, undeployed bool) {
	r.setFlag(&r.undeployed, app, undeployed)
}

// setFlag sets or clears app in one of the router's copy-on-write sets of
// app names.
func (r *Router) setFlag(set *atomic.Pointer[map[string]bool], app string, on bool) {
	app = strings.ToLower(app)
	r.mu.Lock()
	defer r.mu.Unlock()
	next := maps.Clone(*set.Load())
	if on {
		next[app] = true
	} else {
		delete(next, app)
	}
	set.Store(&next)
}

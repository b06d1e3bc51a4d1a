package router

import (
	"net/http"
	"strings"

	"github.com/slipway/slipway/internal/httphead"
)

// maxCookieTries bounds the affinity cookies of one request that are
// verified, so a header stuffed with cookies costs a few MACs, not
// thousands. More than one is tried because another app on a sibling host
// may set a cookie of the same name for the whole domain.
const maxCookieTries = 4

// cookieAttrs are the affinity cookie's attributes: no Domain, so it is
// scoped to the app's host; no Max-Age, so it ends with the browser session.
const cookieAttrs = "; Path=/; HttpOnly; SameSite=Lax"

// readCookie returns the first affinity cookie of req that is valid for app
// at now (unix seconds), decoded into raw. It does not allocate.
func (r *Router) readCookie(raw *[maxRaw]byte, req *http.Request, app string, now int64) (ticket, bool) {
	tries := 0
	for _, line := range req.Header["Cookie"] {
		if t, ok, done := r.cookieIn(raw, line, app, now, &tries); done {
			return t, ok
		}
	}
	return ticket{}, false
}

// readCookieFields is readCookie for a request's header lines (see
// h1.Exchange.Fields).
func (r *Router) readCookieFields(raw *[maxRaw]byte, fields string, app string, now int64) (ticket, bool) {
	tries := 0
	for rest := fields; rest != ""; {
		var name, line string
		name, line, rest = httphead.Next(rest)
		if !httphead.Is(name, "Cookie") {
			continue
		}
		if t, ok, done := r.cookieIn(raw, line, app, now, &tries); done {
			return t, ok
		}
	}
	return ticket{}, false
}

// cookieIn looks for the affinity cookie in one Cookie header line; done
// is set when it found one or tried maxCookieTries in all.
func (r *Router) cookieIn(raw *[maxRaw]byte, line, app string, now int64, tries *int) (t ticket, ok, done bool) {
	for line != "" {
		var pair string
		pair, line, _ = strings.Cut(line, ";")
		v, ok := strings.CutPrefix(strings.TrimLeft(pair, " \t"), CookieName+"=")
		if !ok {
			continue
		}
		v = strings.TrimRight(v, " \t")
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		if t, ok := r.codec.open(raw, app, v, now); ok {
			return t, true, true
		}
		if *tries++; *tries == maxCookieTries {
			return ticket{}, false, true
		}
	}
	return ticket{}, false, false
}

// setCookie adds to w the affinity cookie pinning the client to instance
// inst of p (-1 for a static pool) as of now (unix seconds). It adds
// nothing if p's Release or the instance's ID is too long for a cookie.
func (r *Router) setCookie(w http.ResponseWriter, req *http.Request, app string, p *Pool, inst int, now int64) {
	if c := r.issue(app, p, inst, now, secure(req)); c != nil {
		c.set(w.Header())
	}
}

// issue returns the affinity cookie pinning the client to instance inst
// of p as of now, for a client that came over TLS if tls, or nil if p's
// Release or the instance's ID is too long for a cookie.
func (r *Router) issue(app string, p *Pool, inst int, now int64, tls bool) *issuedCookie {
	// Every client pinned to this instance in this second gets the same
	// cookie, so it is signed once per second, not once per response.
	slot := &p.cookies[2*max(inst, 0)+btoi(tls)]
	c := slot.Load()
	if c == nil || c.sec != now {
		line, ok := r.cookieLine(app, p, inst, now, tls)
		if !ok {
			return nil
		}
		c = &issuedCookie{sec: now, line: []string{line}}
		slot.Store(c)
	}
	return c
}

// set adds the cookie to h, after any Set-Cookie h holds.
func (c *issuedCookie) set(h http.Header) {
	if prior, ok := h["Set-Cookie"]; ok {
		h["Set-Cookie"] = append(prior, c.line[0])
	} else {
		// Shared by the responses of the second; its capacity of one
		// makes whoever adds a cookie after it copy it first.
		h["Set-Cookie"] = c.line[:1:1]
	}
}

// issuedCookie is a Set-Cookie line and the second it was issued.
type issuedCookie struct {
	sec  int64
	line []string // one line
}

// cookieLine returns the Set-Cookie value pinning a client to instance inst
// of p as of now (unix seconds).
func (r *Router) cookieLine(app string, p *Pool, inst int, now int64, tls bool) (string, bool) {
	id := ""
	if inst >= 0 {
		id = p.Instances[inst].ID
	}
	var buf [len(CookieName) + 1 + maxValueLen + len(cookieAttrs) + len("; Secure")]byte
	b, ok := r.codec.appendValue(append(buf[:0], CookieName+"="...), app, p.Release, id, now)
	if !ok {
		return "", false
	}
	b = append(b, cookieAttrs...)
	if tls {
		b = append(b, "; Secure"...)
	}
	return string(b), true
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// secure reports whether the client reached the router over TLS, directly
// or through a proxy in front of it that says so. X-Forwarded-Proto is
// believed from any peer: it only sets the affinity cookie's Secure flag,
// so a client that lies makes its own cookie unusable over plain HTTP and
// harms no one else. The app never sees the header as the client sent it
// (newProxy).
func secure(req *http.Request) bool {
	if req.TLS != nil {
		return true
	}
	v := req.Header["X-Forwarded-Proto"]
	return len(v) > 0 && saysHTTPS(v[0])
}

// secureFields is secure for a request's header lines.
func secureFields(tls bool, fields string) bool {
	if tls {
		return true
	}
	for rest := fields; rest != ""; {
		var name, value string
		name, value, rest = httphead.Next(rest)
		if httphead.Is(name, "X-Forwarded-Proto") {
			return saysHTTPS(value)
		}
	}
	return false
}

// saysHTTPS reports whether an X-Forwarded-Proto value's first protocol
// ("https, http" from a chain of proxies) is https.
func saysHTTPS(v string) bool {
	first, _, _ := strings.Cut(v, ",")
	return strings.EqualFold(strings.TrimSpace(first), "https")
}

// fitsCookie reports whether an affinity cookie can name p and each of its
// instances.
func fitsCookie(p *Pool) bool {
	ok := len(p.Release) <= maxFieldLen
	for _, inst := range p.Instances {
		ok = ok && len(inst.ID) <= maxFieldLen
	}
	return ok
}

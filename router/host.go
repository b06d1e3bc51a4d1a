package router

import "strings"

// appName returns the app that a request's Host names, and false when the
// host is not of the form NAME.<domain>. It does not allocate unless the
// host has upper-case letters.
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
	if !ok || name == "" || strings.IndexByte(name, '.') >= 0 {
		return "", false
	}
	return name, true
}

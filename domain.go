package slipway

import (
	"context"
	"errors"
	"net"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// MaxDomainLen is the longest domain name DNS allows, in bytes.
const MaxDomainLen = 253

// ParseDomain checks a domain name a user gives an app and returns it as
// slipway keeps it: lower-cased, an internationalized name in its ASCII
// (punycode) form, without a final dot. "*.example.com", a wildcard,
// stands for every name one or more labels under example.com that has no
// owner of its own. A port, a path, a scheme, an IP address or a name
// without a dot is refused, with what to give instead.
func ParseDomain(s string) (string, error) {
	raw := strings.TrimSpace(s)
	if raw == "" {
		return "", Errorf(EINVALID, "empty domain: give a name like shop.example.com")
	}
	if strings.ContainsAny(raw, ":/?#@[]\\ \t") {
		return "", Errorf(EINVALID, "domain %q: give just the name, like shop.example.com (no scheme, port or path)", OneLine(raw, 80))
	}
	host, wildcard := strings.CutPrefix(raw, "*.")
	host = strings.TrimSuffix(host, ".")
	if net.ParseIP(host) != nil {
		return "", Errorf(EINVALID, "domain %q is an IP address: give a name that points to this host", OneLine(raw, 80))
	}
	ascii, err := idna.Lookup.ToASCII(host)
	if err == nil && utf8.ValidString(host) {
		_, err = idna.Lookup.ToUnicode(ascii) // a punycode label must decode
	} else if err == nil {
		err = errors.New("not UTF-8")
	}
	if err != nil || ascii == "" {
		return "", Errorf(EINVALID, "domain %q is not a valid name: letters, digits and hyphens in dot-separated labels", OneLine(raw, 80))
	}
	labels := strings.Split(ascii, ".")
	if len(labels) < 2 {
		return "", Errorf(EINVALID, "domain %q has no dot: give a full name, like shop.example.com", OneLine(raw, 80))
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' || strings.Trim(l, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			return "", Errorf(EINVALID, "domain %q is not a valid name: letters, digits and hyphens in dot-separated labels of at most 63", OneLine(raw, 80))
		}
	}
	if wildcard {
		ascii = "*." + ascii
	}
	if len(ascii) > MaxDomainLen {
		return "", Errorf(EINVALID, "domain %q is longer than %d bytes", OneLine(raw, 80), MaxDomainLen)
	}
	return ascii, nil
}

// IsWildcard reports whether domain, as ParseDomain returns it, is a
// wildcard ("*.example.com").
func IsWildcard(domain string) bool { return strings.HasPrefix(domain, "*.") }

// DomainStore keeps the domains of apps beyond their default
// NAME.<domain>. Implemented by package sqlite.
type DomainStore interface {
	// AppDomains returns the app's domains, sorted; ENOTFOUND for an
	// unknown app.
	AppDomains(ctx context.Context, app string) ([]string, error)
	// AddDomains gives the app the domains, all or none: ECONFLICT, naming
	// the owner, when another app has one. Domains it has already are
	// kept.
	AddDomains(ctx context.Context, app string, domains []string) error
	// RemoveDomains takes the domains from the app; ENOTFOUND, naming it,
	// for one the app does not have, and nothing is removed.
	RemoveDomains(ctx context.Context, app string, domains []string) error
	// ClearDomains takes every domain from the app.
	ClearDomains(ctx context.Context, app string) error
	// AllDomains returns every app's domains, by app.
	AllDomains(ctx context.Context) (map[string][]string, error)
}

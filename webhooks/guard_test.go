package webhooks

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// slipway's own client never connects to a link-local address or a
// cloud's metadata service, whatever the URL says.
func TestNotifier_RefusesLinkLocalAndMetadata(t *testing.T) {
	store := &memStore{}
	ids := map[string]int64{}
	for i, u := range []string{
		"http://169.254.169.254/latest/meta-data/", "http://[fe80::1]:8080/", "http://0.0.0.0:9/",
		"http://100.100.100.200/latest/meta-data/", "http://[fd00:ec2::254]/latest/meta-data/",
		"http://[64:ff9b::a9fe:a9fe]/", "http://[::ffff:169.254.169.254]/",
	} {
		app := "app" + string(rune('a'+i)) // one app each: an app runs PerApp deliveries at most
		ids[app] = store.add(app, u, "s")
	}
	n, _ := start(t, store, Config{Attempts: 1})
	for app := range ids {
		ev := deployEvent
		ev.App = app
		n.Notify(t.Context(), ev)
	}
	for _, id := range ids {
		d := store.delivered(t, id, 1)[0]
		if d.Attempts != 1 || d.StatusCode != 0 || !strings.Contains(d.Error, "may not reach link-local") {
			t.Errorf("%s: delivery %+v, want refused before connecting", store.hooks[id-1].URL, d)
		}
	}
}

func TestGuard(t *testing.T) {
	allowed := []string{"127.0.0.1:80", "10.0.0.5:443", "[::1]:80", "93.184.216.34:443",
		"100.100.100.201:80", "100.64.0.1:80", "[fd00:ec2::253]:80", "[fd12::1]:80", "[64:ff9b::5db8:d822]:80"}
	refused := []string{"169.254.169.254:80", "[fe80::1]:80", "[fe80::1%eth0]:80", "0.0.0.0:80", "[::]:80",
		"[::ffff:169.254.169.254]:80", "224.0.0.1:80", "[ff02::1]:80",
		"100.100.100.200:80", "[fd00:ec2::254]:80", "[::ffff:100.100.100.200]:80", "[fd20:ce::254]:80", "[fd00:c1::a9fe:a9fe]:80",
		"[64:ff9b::a9fe:a9fe]:80", "[64:ff9b::6464:64c8]:80", "[::a9fe:a9fe]:80", "192.0.0.192:80", "168.63.129.16:80"}
	for _, addr := range allowed {
		if err := guard("tcp", addr, nil); err != nil {
			t.Errorf("guard(%s) = %v, want allowed", addr, err)
		}
	}
	for _, addr := range refused {
		if err := guard("tcp", addr, nil); err != errRefused {
			t.Errorf("guard(%s) = %v, want refused", addr, err)
		}
	}
}

// fakeDNS resolves the test's names.
func fakeDNS(_ context.Context, _, host string) ([]netip.Addr, error) {
	names := map[string][]string{
		"hooks.test":    {"93.184.216.34"},
		"metadata.test": {"169.254.169.254"},
		"mixed.test":    {"93.184.216.34", "fd00:ec2::254"},
		"mapped.test":   {"::ffff:100.100.100.200"},
	}
	var out []netip.Addr
	for _, a := range names[host] {
		out = append(out, netip.MustParseAddr(a))
	}
	if out == nil {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return out, nil
}

func TestCheckHost(t *testing.T) {
	for host, want := range map[string]string{
		"hooks.test": "", "127.0.0.1": "", "10.1.2.3": "", "::1": "", "hooks.test.": "",
		"169.254.169.254": "may not reach", "169.254.169.254.": "may not reach", "fe80::1%eth0": "may not reach",
		"::ffff:169.254.169.254": "may not reach", "::ffff:a9fe:a9fe": "may not reach", "fd00:ec2::254": "may not reach",
		"100.100.100.200": "may not reach", "64:ff9b::a9fe:a9fe": "may not reach",
		"2852039166": "as a number", "0xa9fea9fe": "as a number", "0251.0376.0251.0376": "as a number",
		"0xa9.0xfe.0xa9.0xfe": "as a number", "169.254.43518": "as a number", "169.254.169.0254": "as a number",
		"100.100.100.0200": "as a number", "0x": "as a number",
		"metadata.test": "metadata.test resolves to 169.254.169.254: webhooks may not reach",
		"mixed.test":    "mixed.test resolves to fd00:ec2::254",
		"mapped.test":   "mapped.test resolves to 100.100.100.200",
		"nowhere.test":  "nowhere.test did not resolve: no such host",
	} {
		err := checkHost(t.Context(), host, fakeDNS)
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("checkHost(%q) = %v, want %q", host, err, want)
		}
	}
}

// proxy is an HTTP proxy that records the requests it is asked to pass on
// and answers each itself: 200 to a POST, 403 to a CONNECT.
type proxy struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []string
}

func newProxy(t *testing.T) *proxy {
	p := &proxy{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.got = append(p.got, r.Method+" "+r.RequestURI)
		p.mu.Unlock()
		if r.Method == http.MethodConnect {
			w.WriteHeader(http.StatusForbidden)
		}
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *proxy) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.got...)
}

// Behind a proxy the dial guard sees only the proxy's address: the target
// is checked before the proxy hears of it, so that a hostile app owner's
// webhook cannot have the proxy fetch the metadata for them.
func TestNotifier_ChecksTheTargetBeforeTheProxy(t *testing.T) {
	px := newProxy(t)
	pu, _ := url.Parse(px.srv.URL)
	client := &http.Client{Transport: newTransport(http.ProxyURL(pu), fakeDNS)}
	want := map[string]string{
		"http://169.254.169.254/latest/meta-data/iam/": "may not reach link-local",
		"https://169.254.169.254/":                     "may not reach link-local",
		"http://[fd00:ec2::254]/latest/meta-data/":     "may not reach link-local",
		"http://100.100.100.200/latest/meta-data/":     "may not reach link-local",
		"http://[::ffff:169.254.169.254]/":             "may not reach link-local",
		"http://169.254.169.254.:80/":                  "may not reach link-local",
		"http://2852039166/":                           "written as a number",
		"http://0251.0376.0251.0376/":                  "written as a number",
		"http://0xa9.0xfe.0xa9.0xfe/":                  "written as a number",
		"http://metadata.test/latest/meta-data/":       "metadata.test resolves to 169.254.169.254",
		"https://metadata.test/":                       "metadata.test resolves to 169.254.169.254",
		"http://mixed.test/":                           "mixed.test resolves to fd00:ec2::254",
		"http://nowhere.test/":                         "nowhere.test did not resolve",
		"http://hooks.test/ok":                         "",
	}
	store := &memStore{}
	ids := map[string]int64{}
	i := 0
	for u := range want {
		app := "app" + string(rune('a'+i))
		i++
		ids[u] = store.add(app, u, "s")
	}
	n, _ := start(t, store, Config{Attempts: 1, Client: client})
	for _, h := range store.hooks {
		ev := deployEvent
		ev.App = h.App
		n.Notify(t.Context(), ev)
	}
	for u, w := range want {
		d := store.delivered(t, ids[u], 1)[0]
		if w == "" {
			if d.StatusCode != 200 {
				t.Errorf("%s: delivery %+v, want passed on by the proxy", u, d)
			}
			continue
		}
		if d.StatusCode != 0 || !strings.Contains(d.Error, w) {
			t.Errorf("%s: delivery %+v, want refused: %s", u, d, w)
		}
	}
	if got := px.requests(); len(got) != 1 || got[0] != "POST http://hooks.test/ok" {
		t.Errorf("the proxy was asked for %q, want only POST http://hooks.test/ok", got)
	}
}

// With no proxy chosen for a request (NO_PROXY), the dial guard checks it:
// proxyGuard looks at nothing.
func TestProxyGuard_NoProxyLeavesItToTheDial(t *testing.T) {
	looked := false
	lookup := func(ctx context.Context, network, host string) ([]netip.Addr, error) {
		looked = true
		return fakeDNS(ctx, network, host)
	}
	pick := proxyGuard(func(*http.Request) (*url.URL, error) { return nil, nil }, lookup)
	req, _ := http.NewRequest(http.MethodPost, "http://metadata.test/", nil)
	if u, err := pick(req); u != nil || err != nil || looked {
		t.Errorf("proxyGuard = %v, %v (looked up: %v), want no proxy and nothing checked", u, err, looked)
	}
	if proxyGuard(nil, lookup) != nil {
		t.Error("proxyGuard(nil) is not nil: the transport would ask a proxy func for none")
	}
}

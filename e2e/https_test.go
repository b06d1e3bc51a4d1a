package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/slipway/slipway/internal/testutil"
)

// pebble is a running Let's Encrypt test ACME server (Debian's pebble),
// whose validations reach slipway's listeners through a DNS responder of
// the test that answers 127.0.0.1 for every name.
type pebble struct {
	dir     string // the ACME directory URL
	caFile  string // the CA of pebble's own HTTPS listener, for --acme-ca
	mgmt    string // the management address: the issuing root is at /roots/0
	apiPool *x509.CertPool
}

// freePort returns a loopback port nothing listens on now, below the
// ephemeral range (where slipway's own 127.0.0.1:0 listeners land) and
// below the ports slipway gives instances (20000 on), so that nothing the
// test starts next takes it before pebble does.
func freePort(t *testing.T) int {
	t.Helper()
	for range 200 {
		port := 10000 + mathrand.IntN(10000)
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			ln.Close()
			return port
		}
	}
	t.Fatal("no free port between 10000 and 20000")
	return 0
}

// startDNS answers A 127.0.0.1 for every name, and nothing for other
// types, on a UDP port of loopback, until the test ends.
func startDNS(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		for _, question := range q.Question {
			if question.Qtype == dns.TypeA {
				m.Answer = append(m.Answer, &dns.A{
					Hdr: dns.RR_Header{Name: question.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 1},
					A:   net.IPv4(127, 0, 0, 1),
				})
			}
		}
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return pc.LocalAddr().String()
}

// writeCA makes a CA and a certificate it signs for localhost and
// 127.0.0.1 (pebble's own HTTPS listener), in dir.
func writeCA(t *testing.T, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "e2e pebble API CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	caFile, certFile, keyFile = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644)
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	return caFile, certFile, keyFile
}

// newPebble prepares a pebble on a free port; start runs it once slipway's
// HTTP and HTTPS ports, which it validates against, are known.
func newPebble(t *testing.T) (*pebble, func(httpPort, tlsPort string)) {
	return newPebbleValid(t, 0)
}

// newPebbleValid is newPebble issuing certificates valid for validity
// (pebble's default when 0).
func newPebbleValid(t *testing.T, validity time.Duration) (*pebble, func(httpPort, tlsPort string)) {
	t.Helper()
	bin := testutil.NeedTool(t, "pebble", "pebble")
	dir := t.TempDir()
	caFile, certFile, keyFile := writeCA(t, dir)
	api, mgmt := freePort(t), freePort(t)
	for mgmt == api {
		mgmt = freePort(t)
	}
	p := &pebble{
		dir: fmt.Sprintf("https://127.0.0.1:%d/dir", api), caFile: caFile, mgmt: fmt.Sprintf("127.0.0.1:%d", mgmt),
		apiPool: x509.NewCertPool(),
	}
	caPEM, _ := os.ReadFile(caFile)
	p.apiPool.AppendCertsFromPEM(caPEM)
	dnsAddr := startDNS(t)
	start := func(httpPort, tlsPort string) {
		config := map[string]any{"pebble": map[string]any{
			"listenAddress": fmt.Sprintf("127.0.0.1:%d", api), "managementListenAddress": p.mgmt,
			"certificate": certFile, "privateKey": keyFile,
			"httpPort": atoi(t, httpPort), "tlsPort": atoi(t, tlsPort),
			"ocspResponderURL": "", "externalAccountBindingRequired": false,
		}}
		if validity > 0 {
			config["pebble"].(map[string]any)["certificateValidityPeriod"] = int(validity.Seconds())
		}
		data, _ := json.Marshal(config)
		cfgFile := filepath.Join(dir, "pebble.json")
		os.WriteFile(cfgFile, data, 0o644)
		cmd := exec.Command(bin, "-config", cfgFile, "-dnsserver", dnsAddr)
		cmd.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0")
		log, _ := os.Create(filepath.Join(dir, "pebble.log"))
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
			log.Close()
			if t.Failed() {
				data, _ := os.ReadFile(log.Name())
				t.Logf("pebble log:\n%s", data)
			}
		})
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.apiPool}}, Timeout: 2 * time.Second}
		waitFor(t, "pebble to serve its directory", func() bool {
			resp, err := client.Get(p.dir)
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		})
	}
	return p, start
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatalf("port %q: %v", s, err)
	}
	return n
}

// roots returns the pool of pebble's issuing root, which signs what it
// issues.
func (p *pebble) roots(t *testing.T) (*x509.CertPool, []byte) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.apiPool}}, Timeout: 5 * time.Second}
	resp, err := client.Get("https://" + p.mgmt + "/roots/0")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		t.Fatalf("pebble's root: %q", data)
	}
	return pool, data
}

// portOf returns the port of host:port.
func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}

// httpsClient reaches slipway's HTTPS listener for any name, trusting
// roots.
func (s *server) httpsClient(roots *x509.CertPool, h2 bool) *http.Client {
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: roots},
		ForceAttemptHTTP2: h2,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, s.httpsAddr)
		},
	}
	if !h2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{} // HTTP/1.1 only
	}
	return &http.Client{Transport: tr, Timeout: 60 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// An app's own domain gets a certificate from a real ACME server (pebble)
// on its first handshake, with the challenges answered by slipway's own
// listeners; it serves HTTP/2 and HTTP/1.1, redirects plain HTTP, sets the
// affinity cookie Secure and X-Forwarded-Proto https; a name no app owns
// gets no certificate and no ACME order; a restart keeps the certificate.
func TestHTTPS_ACMECertificateOnFirstHandshake(t *testing.T) {
	curl := testutil.NeedTool(t, "curl", "curl")
	p, startPebble := newPebble(t)
	s := startServer(t, "--https-addr", "127.0.0.1:0", "--acme-email", "e2e@example.com",
		"--acme-directory", p.dir, "--acme-ca", p.caFile)
	startPebble(portOf(s.httpAddr), portOf(s.httpsAddr))
	roots, rootPEM := p.roots(t)

	dir := s.newApp(envApp())
	s.mustGit(dir, "push", s.remote("shop"), "main")
	if out, err := s.ssh(s.key, "domains:add", "shop", "shop.example.com"); err != nil {
		t.Fatalf("domains:add: %v\n%s", err, out)
	}
	for _, h2 := range []bool{true, false} {
		resp, err := s.httpsClient(roots, h2).Get("https://shop.example.com/env/SLIPWAY_APP")
		if err != nil {
			t.Fatalf("HTTPS GET (h2 %v): %v\n%s", h2, err, s.logText())
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		wantProto := map[bool]string{true: "HTTP/2.0", false: "HTTP/1.1"}[h2]
		if resp.StatusCode != http.StatusOK || string(body) != "shop" || resp.Proto != wantProto {
			t.Errorf("HTTPS GET (h2 %v) = %s %d %q", h2, resp.Proto, resp.StatusCode, body)
		}
		if c := resp.Header.Get("Set-Cookie"); !strings.Contains(c, "slipway_affinity=") || !strings.Contains(c, "Secure") {
			t.Errorf("affinity cookie over TLS: %q", c)
		}
	}
	// curl, with the root as its only CA.
	rootFile := filepath.Join(t.TempDir(), "root.pem")
	os.WriteFile(rootFile, rootPEM, 0o644)
	out, err := exec.Command(curl, "-sS", "--http2", "--cacert", rootFile,
		"--resolve", "shop.example.com:"+portOf(s.httpsAddr)+":127.0.0.1",
		"-w", " %{http_version}", "https://shop.example.com:"+portOf(s.httpsAddr)+"/env/SLIPWAY_APP").CombinedOutput()
	if err != nil || string(out) != "shop 2" {
		t.Errorf("curl over HTTPS: %v: %q", err, out)
	}

	// Plain HTTP for a name with a certificate is redirected.
	req, _ := http.NewRequest(http.MethodGet, "http://"+s.httpAddr+"/a?b=c", nil)
	req.Host = "shop.example.com"
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := "https://shop.example.com:" + portOf(s.httpsAddr) + "/a?b=c"; resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != want {
		t.Errorf("plain HTTP = %d to %q, want 301 to %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}

	// certs:redirect off serves plain HTTP as it is.
	if out, err := s.ssh(s.key, "certs:redirect", "shop", "off"); err != nil {
		t.Fatalf("certs:redirect: %v\n%s", err, out)
	}
	if code, body := s.getHost("shop.example.com", "/env/SLIPWAY_APP"); code != http.StatusOK || body != "shop" {
		t.Errorf("plain HTTP with the redirect off = %d %q", code, body)
	}
	s.ssh(s.key, "certs:redirect", "shop", "on")

	// A name no app owns: the handshake fails, and slipway asks pebble
	// for nothing.
	if _, err := s.httpsClient(roots, true).Get("https://nope.example.com/"); err == nil {
		t.Error("a handshake for a name no app owns succeeded")
	}
	if strings.Contains(s.logText(), "nope.example.com") && strings.Contains(s.logText(), `msg="certificate`) {
		t.Errorf("slipway tried to get a certificate for a name no app owns:\n%s", s.logText())
	}
	obtained := strings.Count(s.logText(), `msg="certificate obtained"`)
	if obtained != 1 {
		t.Errorf("%d certificates obtained, want 1\n%s", obtained, s.logText())
	}

	// The metrics know the certificate.
	mresp, err := http.Get("http://" + s.adminAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metricsText, _ := io.ReadAll(mresp.Body)
	mresp.Body.Close()
	for _, want := range []string{`slipway_certificate_expiry_timestamp_seconds{domain="shop.example.com",source="auto"}`, `slipway_certificate_results_total{renewal="false",result="ok"} 1`} {
		if !strings.Contains(string(metricsText), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// A restart keeps the certificate: no new order.
	s.stop()
	s.start("--https-addr", "127.0.0.1:"+portOf(s.httpsAddr), "--acme-email", "e2e@example.com",
		"--acme-directory", p.dir, "--acme-ca", p.caFile)
	resp, err = s.httpsClient(roots, true).Get("https://shop.example.com/env/SLIPWAY_APP")
	if err != nil {
		t.Fatalf("HTTPS after a restart: %v", err)
	}
	resp.Body.Close()
	if n := strings.Count(s.logText(), `msg="certificate obtained"`); n != obtained {
		t.Errorf("the restart got a new certificate (%d obtained in all)", n)
	}
	if st, err := os.Stat(filepath.Join(s.dataDir, "certs")); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("DATA/certs: %v, %v; want mode 0700", st.Mode(), err)
	}
	if os.Getenv("DEBUG_LOG") != "" {
		t.Log(s.logText())
	}
}

// Each challenge works on its own: HTTP-01 answered by the HTTP listener
// when pebble cannot reach the HTTPS one, TLS-ALPN-01 by the HTTPS
// listener when it cannot reach the HTTP one.
func TestHTTPS_EachChallengeOnItsOwn(t *testing.T) {
	for _, only := range []string{"http-01", "tls-alpn-01"} {
		t.Run(only, func(t *testing.T) {
			p, startPebble := newPebble(t)
			s := startServer(t, "--https-addr", "127.0.0.1:0", "--acme-email", "e2e@example.com",
				"--acme-directory", p.dir, "--acme-ca", p.caFile)
			dead := fmt.Sprint(freePort(t)) // nothing listens there
			if only == "http-01" {
				startPebble(portOf(s.httpAddr), dead)
			} else {
				startPebble(dead, portOf(s.httpsAddr))
			}
			roots, _ := p.roots(t)
			dir := s.newApp(envApp())
			s.mustGit(dir, "push", s.remote("shop"), "main")
			if out, err := s.ssh(s.key, "domains:add", "shop", "www.shop.example"); err != nil {
				t.Fatalf("domains:add: %v\n%s", err, out)
			}
			resp, err := s.httpsClient(roots, true).Get("https://www.shop.example/env/SLIPWAY_APP")
			if err != nil {
				t.Fatalf("HTTPS GET: %v\n%s", err, s.logText())
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || string(body) != "shop" {
				t.Errorf("HTTPS GET = %d %q", resp.StatusCode, body)
			}
		})
	}
}

// testCert makes a CA and a certificate it signs for names, valid from
// from to until; it returns the CA's pool and the bundle (chain, key).
func testCert(t *testing.T, names []string, from, until time.Time) (*x509.CertPool, []byte) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "e2e own CA"},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(48 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, _ := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: from, NotAfter: until, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return pool, append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})...)
}

// sshInput runs an ssh command with stdin.
func (s *server) sshInput(stdin []byte, command ...string) (string, error) {
	cmd := s.sshCmd(nil, command...)
	cmd.Stdin = strings.NewReader(string(stdin))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// A certificate of the app's own, over ssh or `slipway certs:add`, is
// checked, served at once for its names without any ACME server, listed
// by `certs`, and removed by certs:remove.
func TestHTTPS_ManualCertificate(t *testing.T) {
	s := startServer(t, "--https-addr", "127.0.0.1:0")
	dir := s.newApp(envApp())
	s.mustGit(dir, "push", s.remote("own"), "main")
	s.mustGit(dir, "push", s.remote("other"), "main")
	if out, err := s.ssh(s.key, "domains:add", "own", "own.example.com"); err != nil {
		t.Fatalf("domains:add: %v\n%s", err, out)
	}
	now := time.Now()
	_, elsewhere := testCert(t, []string{"blog.example.com"}, now.Add(-time.Hour), now.Add(time.Hour))
	if out, err := s.sshInput(elsewhere, "certs:add", "own"); err == nil || !strings.Contains(out, "covers none of the app's domains") {
		t.Errorf("certs:add of a certificate for other names: %v\n%s", err, out)
	}
	_, expired := testCert(t, []string{"own.example.com"}, now.Add(-2*time.Hour), now.Add(-time.Hour))
	if out, err := s.sshInput(expired, "certs:add", "own"); err == nil || !strings.Contains(out, "expired on") {
		t.Errorf("certs:add of an expired certificate: %v\n%s", err, out)
	}
	pool, good := testCert(t, []string{"own.example.com"}, now.Add(-time.Hour), now.Add(30*24*time.Hour))
	out, err := s.sshInput(good, "certs:add", "own")
	if err != nil || !strings.Contains(out, "Added a certificate to own for own.example.com") {
		t.Fatalf("certs:add: %v\n%s", err, out)
	}
	resp, err := s.httpsClient(pool, true).Get("https://own.example.com/env/SLIPWAY_APP")
	if err != nil {
		t.Fatalf("HTTPS with the app's own certificate: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "own" {
		t.Errorf("HTTPS GET = %q", body)
	}
	if out, _ := s.ssh(s.key, "certs", "own"); !strings.Contains(out, "own.example.com") || !strings.Contains(out, "manual") || !strings.Contains(out, "e2e own CA") {
		t.Errorf("certs own:\n%s", out)
	}
	// The local command reads its standard input too.
	cmd := exec.Command(slipwayBin, "certs:add", "other")
	cmd.Env = append(os.Environ(), "SLIPWAY_ADMIN_ADDR="+s.adminAddr, "SLIPWAY_DATA="+s.dataDir)
	cmd.Stdin = strings.NewReader(string(good))
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "covers none of the app's domains") {
		t.Errorf("slipway certs:add other (not other's domain): %v\n%s", err, out)
	}

	s.stop()
	s.start("--https-addr", "127.0.0.1:0")
	if resp, err := s.httpsClient(pool, true).Get("https://own.example.com/env/SLIPWAY_APP"); err != nil {
		t.Fatalf("HTTPS with the app's own certificate after a restart: %v", err)
	} else {
		resp.Body.Close()
	}
	if out, err := s.ssh(s.key, "certs:remove", "own"); err != nil {
		t.Fatalf("certs:remove: %v\n%s", err, out)
	}
	if _, err := s.httpsClient(pool, true).Get("https://own.example.com/"); err == nil {
		t.Error("the removed certificate is still served")
	}
	if out, err := s.ssh(s.key, "certs:remove", "own"); err == nil || !strings.Contains(out, "no certificate of its own") {
		t.Errorf("certs:remove twice: %v\n%s", err, out)
	}
}

// A certificate close to its expiry is renewed before it runs out, while
// it keeps serving.
func TestHTTPS_RenewsBeforeExpiry(t *testing.T) {
	p, startPebble := newPebbleValid(t, 12*time.Second)
	s := startServer(t, "--https-addr", "127.0.0.1:0", "--acme-email", "e2e@example.com",
		"--acme-directory", p.dir, "--acme-ca", p.caFile)
	startPebble(portOf(s.httpAddr), portOf(s.httpsAddr))
	roots, _ := p.roots(t)
	dir := s.newApp(envApp())
	s.mustGit(dir, "push", s.remote("shop"), "main")
	if out, err := s.ssh(s.key, "domains:add", "shop", "renew.example.com"); err != nil {
		t.Fatalf("domains:add: %v\n%s", err, out)
	}
	var first time.Time
	waitFor(t, "a renewed certificate", func() bool {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, DisableKeepAlives: true,
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, network, s.httpsAddr)
			}}
		resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("https://renew.example.com/env/SLIPWAY_APP")
		if err != nil {
			t.Fatalf("HTTPS while renewing: %v\n%s", err, s.logText())
		}
		resp.Body.Close()
		expiry := resp.TLS.PeerCertificates[0].NotAfter
		if first.IsZero() {
			first = expiry
		}
		return expiry.After(first) && strings.Contains(s.logText(), "renewal=true")
	})
	if os.Getenv("DEBUG_LOG") != "" {
		t.Log(s.logText())
	}
}

// edgeApp answers GET /headers with the X-Forwarded-* headers it got, and
// echoes five bytes over an upgraded (websocket) connection.
func edgeApp() map[string]string {
	return map[string]string{
		"Procfile": "web: python3 app.py\n",
		"app.py": `import base64, hashlib, os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        if self.headers.get("Upgrade", "").lower() == "websocket":
            key = self.headers["Sec-WebSocket-Key"] + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
            self.send_response(101)
            self.send_header("Upgrade", "websocket")
            self.send_header("Connection", "Upgrade")
            self.send_header("Sec-WebSocket-Accept", base64.b64encode(hashlib.sha1(key.encode()).digest()).decode())
            self.end_headers()
            self.wfile.flush()
            self.wfile.write(self.rfile.read(5))
            self.wfile.flush()
            self.close_connection = True
            return
        h = self.headers
        body = ("proto=%s host=%s for=%s" % (h.get("X-Forwarded-Proto"), h.get("X-Forwarded-Host"), h.get("X-Forwarded-For"))).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
`,
	}
}

// Over TLS the router is the edge: the app sees X-Forwarded-Proto https
// and the peer's address whatever the client claimed, and a websocket
// upgrade works.
func TestHTTPS_EdgeHeadersAndWebsocket(t *testing.T) {
	s := startServer(t, "--https-addr", "127.0.0.1:0")
	dir := s.newApp(edgeApp())
	s.mustGit(dir, "push", s.remote("edge"), "main")
	s.ssh(s.key, "domains:add", "edge", "edge.example.com")
	pool, bundle := testCert(t, []string{"edge.example.com"}, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if out, err := s.sshInput(bundle, "certs:add", "edge"); err != nil {
		t.Fatalf("certs:add: %v\n%s", err, out)
	}
	req, _ := http.NewRequest(http.MethodGet, "https://edge.example.com/headers", nil)
	req.Header.Set("X-Forwarded-Proto", "http")
	req.Header.Set("X-Forwarded-For", "6.6.6.6")
	req.Header.Set("X-Forwarded-Host", "evil.example")
	resp, err := s.httpsClient(pool, true).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "proto=https host=edge.example.com for=127.0.0.1" {
		t.Errorf("the app saw %q", body)
	}

	conn, err := tls.Dial("tcp", s.httpsAddr, &tls.Config{RootCAs: pool, ServerName: "edge.example.com", NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: edge.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	head := make([]byte, 0, 512)
	buf := make([]byte, 1)
	for !strings.HasSuffix(string(head), "\r\n\r\n") {
		if _, err := conn.Read(buf); err != nil {
			t.Fatalf("reading the upgrade answer: %v (%q)", err, head)
		}
		head = append(head, buf[0])
	}
	if !strings.HasPrefix(string(head), "HTTP/1.1 101") || !strings.Contains(string(head), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") {
		t.Fatalf("upgrade answer: %q", head)
	}
	conn.Write([]byte("hello"))
	echo := make([]byte, 5)
	if _, err := io.ReadFull(conn, echo); err != nil || string(echo) != "hello" {
		t.Errorf("echo over the websocket: %q, %v", echo, err)
	}

	// An upgrade in place hands the HTTPS socket over too.
	before := s.httpsAddr
	s.upgrade(func(pid int) { syscall.Kill(pid, syscall.SIGHUP) })
	if s.httpsAddr != before {
		t.Errorf("HTTPS moved from %s to %s in the upgrade", before, s.httpsAddr)
	}
	resp, err = s.httpsClient(pool, true).Get("https://edge.example.com/headers")
	if err != nil {
		t.Fatalf("HTTPS after an upgrade: %v", err)
	}
	resp.Body.Close()
}

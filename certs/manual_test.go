package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"
)

// bundle makes a self-signed certificate for names, valid from from to
// until, and returns its PEM chain and key.
func bundle(t testing.TB, names []string, from, until time.Time) (chain, key []byte) {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: from, NotAfter: until}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(k)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

func TestParseBundle(t *testing.T) {
	now := time.Now()
	domains := []string{"shop.apps.test", "shop.example.com", "*.shop.example.com"}
	chain, key := bundle(t, []string{"shop.example.com"}, now.Add(-time.Hour), now.Add(time.Hour))
	if _, _, leaf, err := ParseBundle(append(key, chain...), domains, now); err != nil || leaf.DNSNames[0] != "shop.example.com" {
		t.Errorf("a good bundle, key first: %v", err)
	}
	wild, wkey := bundle(t, []string{"*.shop.example.com"}, now.Add(-time.Hour), now.Add(time.Hour))
	if _, _, _, err := ParseBundle(append(wild, wkey...), domains, now); err != nil {
		t.Errorf("a wildcard certificate for a wildcard domain: %v", err)
	}
	_, otherKey := bundle(t, []string{"shop.example.com"}, now.Add(-time.Hour), now.Add(time.Hour))
	expired, ekey := bundle(t, []string{"shop.example.com"}, now.Add(-2*time.Hour), now.Add(-time.Hour))
	future, fkey := bundle(t, []string{"shop.example.com"}, now.Add(time.Hour), now.Add(2*time.Hour))
	elsewhere, okey := bundle(t, []string{"blog.example.com"}, now.Add(-time.Hour), now.Add(time.Hour))
	for name, tc := range map[string]struct {
		data []byte
		want string
	}{
		"empty":         {nil, "no PEM certificate"},
		"garbage":       {[]byte("hello"), "no PEM certificate"},
		"no key":        {chain, "no private key"},
		"two keys":      {append(append(chain, key...), key...), "two private keys"},
		"another key":   {append(chain, otherKey...), "does not match"},
		"expired":       {append(expired, ekey...), "expired on"},
		"not yet valid": {append(future, fkey...), "not valid until"},
		"other names":   {append(elsewhere, okey...), "covers none of the app's domains"},
		"too big":       {make([]byte, maxBundle+1), "over"},
	} {
		_, _, _, err := ParseBundle(tc.data, domains, now)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v; want a one-line error saying %q", name, err, tc.want)
		}
	}
}

func FuzzParseBundle(f *testing.F) {
	now := time.Now()
	chain, key := bundle(f, []string{"shop.example.com"}, now.Add(-time.Hour), now.Add(time.Hour))
	f.Add(append(chain, key...))
	f.Add(chain)
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, k, leaf, err := ParseBundle(data, []string{"shop.example.com"}, now)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error spans lines: %q", err)
			}
			return
		}
		if len(c) == 0 || len(k) == 0 || leaf == nil || leaf.VerifyHostname("shop.example.com") != nil {
			t.Fatalf("accepted a bundle that does not serve shop.example.com")
		}
	})
}

func TestPublicDomain(t *testing.T) {
	for d, want := range map[string]bool{"apps.example.com": true, "example.com.": true, "localhost": false, "slipway.test": false,
		"apps.local": false, "10.0.0.1": false, "my.internal": false, "com": false} {
		if got := PublicDomain(d); got != want {
			t.Errorf("PublicDomain(%q) = %v, want %v", d, got, want)
		}
	}
}

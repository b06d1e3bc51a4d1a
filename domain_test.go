package slipway

import (
	"strings"
	"testing"
)

func TestParseDomain(t *testing.T) {
	for in, want := range map[string]string{
		"Shop.Example.COM":       "shop.example.com",
		"shop.example.com.":      "shop.example.com",
		"*.Example.com":          "*.example.com",
		"bücher.example":         "xn--bcher-kva.example",
		"  a-b.c0.example.org  ": "a-b.c0.example.org",
	} {
		got, err := ParseDomain(in)
		if err != nil || got != want {
			t.Errorf("ParseDomain(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, why := range map[string]string{
		"":                                    "empty",
		"shop":                                "no dot",
		"127.0.0.1":                           "IP address",
		"::1":                                 "no scheme, port or path",
		"shop.example.com:443":                "no scheme, port or path",
		"https://shop.example.com":            "no scheme, port or path",
		"shop.example.com/x":                  "no scheme, port or path",
		"-shop.example.com":                   "not a valid name",
		"sh_op.example.com":                   "not a valid name",
		"a.*.example.com":                     "not a valid name",
		"*.*.example.com":                     "not a valid name",
		"a..example.com":                      "not a valid name",
		strings.Repeat("a", 64) + ".io":       "not a valid name",
		strings.Repeat("abcdefg.", 32) + "io": "longer than 253",
	} {
		_, err := ParseDomain(in)
		if err == nil || !strings.Contains(err.Error(), why) || strings.Contains(err.Error(), "\n") {
			t.Errorf("ParseDomain(%q) = %v; want a one-line error saying %q", in, err, why)
		}
	}
}

func FuzzParseDomain(f *testing.F) {
	for _, s := range []string{"shop.example.com", "*.example.com", "bücher.example", "xn--bcher-kva.example", "a:b", "1.2.3.4", "ß.de"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseDomain(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error of %q spans lines: %q", s, err)
			}
			return
		}
		if len(got) > MaxDomainLen || got != strings.ToLower(got) || strings.Trim(got, "abcdefghijklmnopqrstuvwxyz0123456789-.*") != "" {
			t.Fatalf("ParseDomain(%q) = %q: not a lower-case ASCII name", s, got)
		}
		again, err := ParseDomain(got)
		if err != nil || again != got {
			t.Fatalf("ParseDomain(%q) = %q, but ParseDomain of that = %q, %v", s, got, again, err)
		}
	})
}

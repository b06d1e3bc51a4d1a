package slipway_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/slipway/slipway"
)

func TestParseLogDrainURL(t *testing.T) {
	for _, tc := range []struct {
		url  string
		err  string // "" when taken
		port string
	}{
		{"syslog://logs.example.com:5140", "", "5140"},
		{"syslog://logs.example.com", "", "514"},
		{"syslog+tls://logs.example.com", "", "6514"},
		{"syslog+tls://[::1]:6514", "", "6514"},
		{"SYSLOG://logs.example.com:1", "", "1"},
		{"https://user:pass@logs.example.com/drain/abc?token=x", "", "443"},
		{"https://logs.example.com:8443", "", "8443"},
		{"http://logs.example.com/", "http:// drains are refused", ""},
		{"ftp://logs.example.com/", "not ftp://", ""},
		{"logs.example.com", "starts with syslog+tls://", ""},
		{"logs.example.com:514", "not a URL slipway takes", ""},
		{"syslog:logs.example.com", "not a URL slipway takes", ""},
		{"syslog://:514", "names a host", ""},
		{"syslog://logs.example.com:99999", "port is a number", ""},
		{"syslog://logs.example.com:x", "not a URL slipway takes", ""},
		{"syslog://u:p@logs.example.com:514", "no user, path or query", ""},
		{"syslog://logs.example.com:514/path", "no user, path or query", ""},
		{"syslog+tls://logs.example.com:514?x=1", "no user, path or query", ""},
		{"https://logs.example.com/#frag", "no #fragment", ""},
		{"https://logs.example.com/a b", "no spaces", ""},
		{"https://logs.example.com/\n", "no spaces", ""},
		{"", "1 to 2048", ""},
		{"https://logs.example.com/" + strings.Repeat("a", 2048), "1 to 2048", ""},
	} {
		u, err := slipway.ParseLogDrainURL(tc.url)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%q: %v", tc.url, err)
		case tc.err == "" && slipway.DrainPort(u) != tc.port:
			t.Errorf("%q: port %s, want %s", tc.url, slipway.DrainPort(u), tc.port)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || slipway.ErrorCode(err) != slipway.EINVALID):
			t.Errorf("%q: error %v, want one saying %q", tc.url, err, tc.err)
		}
	}
}

// A refused URL's error does not show its secrets either.
func TestParseLogDrainURL_ErrorHidesSecrets(t *testing.T) {
	_, err := slipway.ParseLogDrainURL("https://user:hunter2@logs.example.com:x/?token=SECRET")
	if err == nil || strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("error = %v", err)
	}
}

func TestMaskLogDrainURL(t *testing.T) {
	for url, want := range map[string]string{
		"syslog+tls://logs.example.com:6514":                         "syslog+tls://logs.example.com:6514",
		"https://user:pass@logs.example.com/drain/1?token=abc":       "https://***@logs.example.com/***?***",
		"https://collectors.example.com/receiver/v1/http/ZaVnC4dhaV": "https://collectors.example.com/***",
		"https://logs.example.com/TOKEN":                             "https://logs.example.com/***",
		"https://logs.example.com/":                                  "https://logs.example.com",
		"https://token@logs.example.com":                             "https://***@logs.example.com",
		"https://logs.example.com/x?":                                "https://logs.example.com/***?***",
		"not a url at all":                                           "(invalid URL)",
	} {
		if got := slipway.MaskLogDrainURL(url); got != want {
			t.Errorf("MaskLogDrainURL(%q) = %q, want %q", url, got, want)
		}
	}
}

// A drain's id is keyed per installation: the same on one host across
// restarts and upgrades (the same secret gives the same id, and the
// derivation does not change: the vector below), different on another,
// and not the URL's plain SHA-256, which /metrics would let anyone test
// guessed passwords against.
func TestLogDrainID(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	key := slipway.LogDrainIDKey(secret)
	const u = "syslog+tls://logs.example.com:6514"
	// Changing this changes every host's drain ids at its upgrade.
	if got, want := slipway.LogDrainID(key, u), "50eaa077"; got != want {
		t.Errorf("LogDrainID = %q, want %q", got, want)
	}
	if a, b := slipway.LogDrainID(key, "syslog://a:1"), slipway.LogDrainID(key, "syslog://a:2"); len(a) != 8 || a == b {
		t.Errorf("ids %q and %q", a, b)
	}
	other := slipway.LogDrainIDKey([]byte("another host's secret, 32 bytes!"))
	if slipway.LogDrainID(other, u) == slipway.LogDrainID(key, u) {
		t.Error("two installations give a drain the same id")
	}
	if bytes.Equal(key, secret) || slipway.LogDrainID(secret, u) == slipway.LogDrainID(key, u) {
		t.Error("the id is keyed with the secret itself, not a key derived from it")
	}
	sum := sha256.Sum256([]byte(u))
	if slipway.LogDrainID(key, u) == hex.EncodeToString(sum[:4]) {
		t.Error("the id is the URL's plain SHA-256")
	}
}

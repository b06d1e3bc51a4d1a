package slipway_test

import (
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
	if a, b := slipway.LogDrainID("syslog://a:1"), slipway.LogDrainID("syslog://a:2"); len(a) != 8 || a == b {
		t.Errorf("ids %q and %q", a, b)
	}
}

package router

import "testing"

func TestRouter_AppName(t *testing.T) {
	for _, tc := range []struct {
		domain, host, want string
		ok                 bool
	}{
		{"apps.test", "web.apps.test", "web", true},
		{"apps.test", "web.apps.test:8080", "web", true},
		{"apps.test", "WeB.ApPs.TeSt", "web", true},
		{"apps.test", "web.apps.test.", "web", true},
		{"apps.test", "web.apps.test.:443", "web", true},
		{"Apps.Test.", "web.apps.test", "web", true},
		{"apps.test", "apps.test", "", false},
		{"apps.test", ".apps.test", "", false},
		{"apps.test", "a.b.apps.test", "", false},
		{"apps.test", "webapps.test", "", false},
		{"apps.test", "web.example.com", "", false},
		{"apps.test", "[::1]:80", "", false},
		{"apps.test", "", "", false},
		{"", "web", "web", true},
		{"", "Web:80", "web", true},
		{"", "web.apps.test", "", false},
	} {
		r := New(Config{Domain: tc.domain})
		got, ok := r.appName(tc.host)
		if got != tc.want || ok != tc.ok {
			t.Errorf("domain %q host %q: appName = %q, %v; want %q, %v", tc.domain, tc.host, got, ok, tc.want, tc.ok)
		}
	}
}

func TestRouter_AppNameDoesNotAllocate(t *testing.T) {
	r := New(Config{Domain: "apps.test"})
	if n := testing.AllocsPerRun(100, func() { r.appName("web.apps.test:8080") }); n != 0 {
		t.Errorf("appName allocates %v times per call, want 0", n)
	}
}

package main

import "testing"

func TestParseRemoteURL_SlipwaysAndOthers(t *testing.T) {
	for _, tt := range []struct {
		url  string
		want sshTarget
		ok   bool
	}{
		{"ssh://git@example.com/shop", sshTarget{"git", "example.com", "", "shop"}, true},
		{"ssh://git@example.com:2222/shop.git", sshTarget{"git", "example.com", "2222", "shop"}, true},
		{"ssh://example.com:2222/shop/", sshTarget{"", "example.com", "2222", "shop"}, true},
		{"git+ssh://deploy@10.0.0.7/shop", sshTarget{"deploy", "10.0.0.7", "", "shop"}, true},
		{"ssh://git@[::1]:2222/shop", sshTarget{"git", "::1", "2222", "shop"}, true},
		{"git@example.com:shop", sshTarget{"git", "example.com", "", "shop"}, true},
		{"git@example.com:shop.git", sshTarget{"git", "example.com", "", "shop"}, true},
		{"example.com:/shop", sshTarget{"", "example.com", "", "shop"}, true},
		{"git@[::1]:shop", sshTarget{"git", "::1", "", "shop"}, true},
		{"my-slipway:shop", sshTarget{"", "my-slipway", "", "shop"}, true},
		// Not a slipway's: other transports, paths, owner/repo, bad names.
		{"https://example.com/shop", sshTarget{}, false},
		{"file:///srv/shop", sshTarget{}, false},
		{"/srv/git/shop", sshTarget{}, false},
		{"../shop", sshTarget{}, false},
		{"./a:shop", sshTarget{}, false},
		{"git@github.com:owner/shop.git", sshTarget{}, false},
		{"ssh://git@example.com/owner/shop", sshTarget{}, false},
		{"ssh://git@example.com/Shop", sshTarget{}, false},
		{"ssh://git@example.com/", sshTarget{}, false},
		{"ssh://git@example.com:0/shop", sshTarget{}, false},
		{"ssh://git@example.com:99999/shop", sshTarget{}, false},
		{"ssh://git:secret@example.com/shop", sshTarget{}, false},
		{"ssh://git@example.com/shop?x=1", sshTarget{}, false},
		{"", sshTarget{}, false},
		// A host or a user ssh would take for an option is refused.
		{"ssh://-oProxyCommand=touch%20x/shop", sshTarget{}, false},
		{"-oProxyCommand=x:shop", sshTarget{}, false},
		{"ssh://-git@example.com/shop", sshTarget{}, false},
		{"-x@example.com:shop", sshTarget{}, false},
		{"git@example com:shop", sshTarget{}, false},
	} {
		got, ok := parseRemoteURL(tt.url)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseRemoteURL(%q) = %+v, %v; want %+v, %v", tt.url, got, ok, tt.want, tt.ok)
		}
	}
}

func TestSSHTarget_Destination(t *testing.T) {
	if got := (sshTarget{User: "git", Host: "::1"}).Destination(); got != "git@::1" {
		t.Errorf("Destination = %q", got)
	}
	if got := (sshTarget{Host: "example.com"}).Destination(); got != "example.com" {
		t.Errorf("Destination without a user = %q", got)
	}
}

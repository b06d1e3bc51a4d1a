package e2e

import (
	"regexp"
	"strings"
	"testing"
)

// Every list says what state things are in: apps:list has a STATE
// column, ps of an app that runs nothing says why, and an empty list
// says how to make the first app.
func TestState_ListsSayWhatIsGoingOn(t *testing.T) {
	s := startServer(t)
	if out := s.mustSSH("apps:list"); !strings.Contains(out, "No apps yet: git push ssh://git@HOST:2222/NAME main") {
		t.Errorf("apps:list with no app:\n%s", out)
	}
	s.mustGit(s.newApp(staticApp("v1")), "push", s.remote("shop"), "main")
	s.mustSSH("apps:create", "empty")
	list := s.mustSSH("apps:list")
	for _, want := range []string{`(?m)^APP\s+LIVE\s+INSTANCES\s+DRAINING\s+URL\s+STATE$`, `(?m)^shop\s+v1\s.*\srunning$`, `(?m)^empty\s+-\s.*\sundeployed$`} {
		if !regexp.MustCompile(want).MatchString(list) {
			t.Errorf("apps:list lacks %s:\n%s", want, list)
		}
	}
	if out := s.mustSSH("ps", "empty"); !strings.Contains(out, "empty has no live release: git push to ") {
		t.Errorf("ps of an app with no release:\n%s", out)
	}

	s.mustSSH("ps:stop", "shop")
	if out := s.mustSSH("ps", "shop"); !regexp.MustCompile(`^shop is stopped \(since \d+\w* ago, by id_ed25519@e2e \(SHA256:\S+\)\): no process runs; ps:start shop starts it\n$`).MatchString(out) {
		t.Errorf("ps of a stopped app:\n%s", out)
	}
	if list := s.mustSSH("apps:list"); !regexp.MustCompile(`(?m)^shop\s.*\sstopped$`).MatchString(list) {
		t.Errorf("apps:list of a stopped app:\n%s", list)
	}
	s.mustSSH("ps:start", "shop")
	s.mustSSH("maintenance:on", "shop")
	if list := s.mustSSH("apps:list"); !regexp.MustCompile(`(?m)^shop\s.*\smaintenance$`).MatchString(list) {
		t.Errorf("apps:list of an app in maintenance:\n%s", list)
	}
}

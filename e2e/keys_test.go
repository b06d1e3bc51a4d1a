package e2e

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// ssh-keys:add, ssh-keys:list and ssh-keys:remove manage who may push
// without a shell on the host; a key added with --app reaches only those
// apps (every other one is "not found" to it), and only a key that may
// reach every app manages keys and creates apps.
func TestSSHKeys_AddListRemoveAndLimits(t *testing.T) {
	s := startServer(t)
	shop := s.newApp(staticApp("shop v1"))
	s.mustGit(shop, "push", s.remote("shop"), "main")
	blog := s.newApp(staticApp("blog v1"))
	s.mustGit(blog, "push", s.remote("blog"), "main")

	dev := newKey(t, s.home, "dev_key")
	pub, _ := os.ReadFile(dev + ".pub")
	if out, err := s.sshInput([]byte("not a key"), "ssh-keys:add", "dev"); err == nil || !strings.Contains(out, "no public key on standard input") {
		t.Errorf("a malformed key: %v\n%s", err, out)
	}
	out, err := s.sshInput(pub, "ssh-keys:add", "dev", "--app", "shop")
	if err != nil || !strings.Contains(out, "Added key dev") || !strings.Contains(out, "it may reach shop") {
		t.Fatalf("ssh-keys:add: %v\n%s", err, out)
	}
	if out, err := s.sshInput(pub, "ssh-keys:add", "dev2"); err == nil || !strings.Contains(out, "there already, named dev") {
		t.Errorf("adding the same key twice: %v\n%s", err, out)
	}
	if out, _ := s.ssh(s.key, "ssh-keys:list"); !strings.Contains(out, "dev ") || !strings.Contains(out, "shop") || !strings.Contains(out, "(every app)") {
		t.Errorf("ssh-keys:list:\n%s", out)
	}

	// The limited key: shop is its own, blog does not exist for it.
	if out, err := s.ssh(dev, "ps", "shop"); err != nil {
		t.Errorf("ps shop with the dev key: %v\n%s", err, out)
	}
	if out, err := s.ssh(dev, "ps", "blog"); err == nil || !strings.Contains(out, `no app named "blog"`) {
		t.Errorf("ps blog with the dev key: %v\n%s", err, out)
	}
	if out, _ := s.ssh(dev, "apps:list"); strings.Contains(out, "blog") || !strings.Contains(out, "shop") {
		t.Errorf("apps:list with the dev key:\n%s", out)
	}
	for _, cmd := range [][]string{{"apps:create", "new"}, {"ssh-keys:list"}, {"apps:destroy", "blog", "--confirm", "blog"}} {
		if out, err := s.ssh(dev, cmd...); err == nil {
			t.Errorf("%v with the dev key was allowed:\n%s", cmd, out)
		}
	}
	s.commit(shop, "v2", staticApp("shop v2"))
	if out, err := s.gitWithKey(dev, shop, "push", s.remote("shop"), "main"); err != nil || !strings.Contains(out, "v2 is live") {
		t.Errorf("a push to shop with the dev key: %v\n%s", err, out)
	}
	s.commit(blog, "v2", staticApp("blog v2"))
	if out, err := s.gitWithKey(dev, blog, "push", s.remote("blog"), "main"); err == nil || !strings.Contains(out, "not found") && !strings.Contains(out, "push to it first") {
		t.Errorf("a push to blog with the dev key: %v\n%s", err, out)
	}

	// The last key that may reach every app stays.
	if out, err := s.ssh(s.key, "ssh-keys:remove", "id_ed25519@e2e"); err == nil || !strings.Contains(out, "the last key that may reach every app") {
		t.Errorf("removing the last unrestricted key: %v\n%s", err, out)
	}
	if out, err := s.ssh(s.key, "ssh-keys:remove", "dev"); err != nil {
		t.Fatalf("ssh-keys:remove dev: %v\n%s", err, out)
	}
	if out, err := s.ssh(dev, "ps", "shop"); err == nil {
		t.Errorf("a removed key still works:\n%s", out)
	}

	// On the host, the local command adds a key through the admin API.
	other := newKey(t, s.home, "ops_key")
	opsPub, _ := os.ReadFile(other + ".pub")
	cmd := exec.Command(slipwayBin, "ssh-keys:add", "ops")
	cmd.Env = append(os.Environ(), "SLIPWAY_ADMIN_ADDR="+s.adminAddr, "SLIPWAY_DATA="+s.dataDir)
	cmd.Stdin = strings.NewReader(string(opsPub))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("slipway ssh-keys:add: %v\n%s", err, out)
	}
	if out, err := s.ssh(other, "ps", "blog"); err != nil {
		t.Errorf("the key added on the host: %v\n%s", err, out)
	}
}

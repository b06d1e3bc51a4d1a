package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/slipway/slipway/internal/testutil"
)

func TestTakesApp_TheCommandsOnAnApp(t *testing.T) {
	for name, want := range map[string]bool{
		"config:set": true, "config:get": true, "apps:info": true, "apps:create": true, "apps:rename": true,
		"apps:destroy": true, "run": true, "run:detached": true, "logs": true, "releases": true, "rollback": true,
		"certs:add": true, "git:from-image": true, "builder:set": true, "open": true,
		// No app, or a NAME that is a key's, a service's, an image's.
		"apps:list": false, "version": false, "help": false, "ssh-keys:add": false, "ssh-keys:remove": false,
		"postgres:create": false, "postgres:link": false, "redis:connect": false, "images:import": false,
		"registry:tokens:add": false, "remote:add": false, "nonsense": false,
	} {
		if got := takesApp(name); got != want {
			t.Errorf("takesApp(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestTakeFlags_OnlyLeadingOwnFlags(t *testing.T) {
	for _, tt := range []struct {
		args    []string
		allowed []string
		want    laptopOpts
		rest    []string
		err     string
	}{
		{[]string{"-a", "shop", "logs", "-t"}, []string{"-a", "--app", "--remote"}, laptopOpts{app: "shop"}, []string{"logs", "-t"}, ""},
		{[]string{"--app=shop", "--remote", "staging", "ps"}, []string{"-a", "--app", "--remote"}, laptopOpts{app: "shop", remote: "staging"}, []string{"ps"}, ""},
		{[]string{"-t", "-a", "shop", "bash", "-a"}, ownFlags("run"), laptopOpts{app: "shop", pty: true}, []string{"bash", "-a"}, ""},
		{[]string{"-t", "-n", "5"}, ownFlags("logs"), laptopOpts{}, []string{"-t", "-n", "5"}, ""},
		{[]string{"--", "-t"}, ownFlags("run"), laptopOpts{}, []string{"--", "-t"}, ""},
		{[]string{"--app", "ops", "ops"}, ownFlags("ssh-keys:add"), laptopOpts{}, []string{"--app", "ops", "ops"}, ""},
		{[]string{"-a"}, ownFlags("logs"), laptopOpts{}, nil, "-a needs a value: -a APP"},
		{[]string{"-a", "Shop"}, ownFlags("logs"), laptopOpts{}, nil, "invalid app name"},
		{[]string{"--remote", "-x"}, ownFlags("logs"), laptopOpts{}, nil, "git remote's name"},
		{[]string{"-t=1"}, ownFlags("run"), laptopOpts{}, nil, "-t takes no value"},
	} {
		var opts laptopOpts
		rest, err := takeFlags(tt.args, &opts, tt.allowed...)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("takeFlags(%q) err = %v, want %q", tt.args, err, tt.err)
			}
			continue
		}
		if err != nil || opts != tt.want || !reflect.DeepEqual(rest, tt.rest) {
			t.Errorf("takeFlags(%q) = %+v %q %v; want %+v %q", tt.args, opts, rest, err, tt.want, tt.rest)
		}
	}
}

func TestWithApp_PutsTheAppFirst(t *testing.T) {
	for _, tt := range []struct {
		name, flagApp, remoteApp string
		args, want               []string
	}{
		{"config:set", "", "shop", []string{"A=1"}, []string{"config:set", "shop", "A=1"}},
		{"config:set", "other", "shop", []string{"A=1"}, []string{"config:set", "other", "A=1"}},
		{"apps:destroy", "", "shop", []string{"--confirm", "shop"}, []string{"apps:destroy", "shop", "--confirm", "shop"}},
		{"run", "", "shop", []string{"echo $PORT"}, []string{"run", "shop", "echo $PORT"}},
		{"apps:list", "", "shop", nil, []string{"apps:list"}},
		{"postgres:link", "", "shop", []string{"db", "shop"}, []string{"postgres:link", "db", "shop"}},
		// On the host with no remote: as typed, or -a's app in NAME's place.
		{"logs", "", "", []string{"shop", "-t"}, []string{"logs", "shop", "-t"}},
		{"logs", "shop", "", []string{"-t"}, []string{"logs", "shop", "-t"}},
	} {
		got, err := withApp(tt.name, tt.args, tt.flagApp, tt.remoteApp)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("withApp(%q, %q, %q, %q) = %q, %v; want %q", tt.name, tt.args, tt.flagApp, tt.remoteApp, got, err, tt.want)
		}
	}
	if _, err := withApp("apps:list", nil, "shop", ""); err == nil || !strings.Contains(err.Error(), "without -a") {
		t.Errorf("apps:list -a shop: err = %v", err)
	}
}

// laptopRepo makes a git repository with remotes (name → URL), makes it
// the working directory, and puts a fake ssh first in PATH that records
// its arguments, one per line of the file it returns, and exits with
// $FAKE_SSH_EXIT.
func laptopRepo(t *testing.T, dir string, remotes map[string]string) string {
	t.Helper()
	testutil.PrivateHome(t)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	t.Setenv("GIT_SSH_COMMAND", "")
	t.Setenv("GIT_SSH", "")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	git(t, dir, "init", "-q")
	for name, url := range remotes {
		git(t, dir, "remote", "add", name, url)
	}
	bin := t.TempDir()
	record := filepath.Join(bin, "args")
	fake := "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > " + record + "\nexit ${FAKE_SSH_EXIT:-0}\n"
	if err := os.WriteFile(filepath.Join(bin, "ssh"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	t.Chdir(dir)
	return record
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := testutil.Command(t, time.Minute, "git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %q: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// sshGot is what the fake ssh was run with.
func sshGot(t *testing.T, record string) []string {
	t.Helper()
	b, err := os.ReadFile(record)
	if err != nil {
		t.Fatalf("ssh did not run: %v", err)
	}
	os.Remove(record)
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func TestRunLaptop_RunsTheCommandOverTheUsersSSH(t *testing.T) {
	record := laptopRepo(t, t.TempDir(), map[string]string{
		"deploy":  "ssh://git@example.com:2222/shop",
		"staging": "deploy@staging.example.com:shop-staging.git",
		"github":  "git@github.com:owner/shop.git",
	})
	ctx := context.Background()
	for _, tt := range []struct {
		args, want []string
	}{
		{[]string{"config:set", "GREETING=hello world"}, []string{"-p", "2222", "-T", "-n", "--", "git@example.com", "config:set shop 'GREETING=hello world'"}},
		{[]string{"run", "echo $PORT"}, []string{"-p", "2222", "-T", "--", "git@example.com", "run shop 'echo $PORT'"}},
		{[]string{"run", "-t", "bash"}, []string{"-p", "2222", "-t", "--", "git@example.com", "run shop bash"}},
		{[]string{"logs", "-t"}, []string{"-p", "2222", "-T", "-n", "--", "git@example.com", "logs shop -t"}},
		{[]string{"-a", "other", "config:get", "A"}, []string{"-p", "2222", "-T", "-n", "--", "git@example.com", "config:get other A"}},
		{[]string{"config:get", "--app", "other", "A"}, []string{"-p", "2222", "-T", "-n", "--", "git@example.com", "config:get other A"}},
		{[]string{"apps:list"}, []string{"-p", "2222", "-T", "-n", "--", "git@example.com", "apps:list"}},
		{[]string{"--remote", "staging", "ps"}, []string{"-T", "-n", "--", "deploy@staging.example.com", "ps shop-staging"}},
		{[]string{"releases", "--remote=staging"}, []string{"-T", "-n", "--", "deploy@staging.example.com", "releases shop-staging"}},
	} {
		if _, code, done := runLaptop(ctx, tt.args); code != 0 || !done {
			t.Errorf("runLaptop(%q) = %d, %v", tt.args, code, done)
			continue
		}
		if got := sshGot(t, record); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("slipway %q ran ssh %q, want %q", tt.args, got, tt.want)
		}
	}

	// The remote command's exit status is slipway's.
	t.Setenv("FAKE_SSH_EXIT", "7")
	if _, code, _ := runLaptop(ctx, []string{"run", "exit 7"}); code != 7 {
		t.Errorf("exit status %d, want 7", code)
	}
	t.Setenv("FAKE_SSH_EXIT", "0")

	// GIT_SSH_COMMAND is the ssh to run, as for git push.
	t.Setenv("GIT_SSH_COMMAND", "ssh -i '/keys/my key' -o IdentitiesOnly=yes")
	runLaptop(ctx, []string{"ps"})
	if got, want := sshGot(t, record), []string{"-i", "/keys/my key", "-o", "IdentitiesOnly=yes", "-p", "2222", "-T", "-n", "--", "git@example.com", "ps shop"}; !reflect.DeepEqual(got, want) {
		t.Errorf("with GIT_SSH_COMMAND ssh ran with %q, want %q", got, want)
	}
	t.Setenv("GIT_SSH_COMMAND", "")

	// A remote asked for must be a slipway's; what is not for slipway is
	// left to the host's dispatch.
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--remote", "github", "ps"}, `git remote "github" is git@github.com:owner/shop.git, not a slipway's`},
		{[]string{"--remote", "nope", "ps"}, `no git remote "nope" here`},
		{[]string{"-a", "shop"}, "go before a management command"},
		{[]string{"-a", "shop", "serve"}, "go before a management command"},
		{[]string{"-a", "shop", "apps:list"}, "apps:list acts on no app"},
	} {
		var code int
		var done bool
		msg := stderrOf(t, func() { _, code, done = runLaptop(ctx, tt.args) })
		if code == 0 || !done || !strings.Contains(msg, tt.want) {
			t.Errorf("runLaptop(%q) = %d, %v, %q; want a refusal saying %q", tt.args, code, done, msg, tt.want)
		}
	}
	for _, args := range [][]string{{"serve", "--data", "x"}, {"version"}, {"help"}, {"nonsense"}} {
		if got, _, done := runLaptop(ctx, args); done || !reflect.DeepEqual(got, args) {
			t.Errorf("runLaptop(%q) = %q, %v; want it left as it is", args, got, done)
		}
	}
}

// Without a slipway remote, a command is the host's as before; -a APP
// stands for its NAME.
func TestRunLaptop_WithoutARemoteLeavesItToTheHost(t *testing.T) {
	laptopRepo(t, t.TempDir(), map[string]string{"origin": "https://example.com/shop.git"})
	ctx := context.Background()
	for _, tt := range []struct{ args, want []string }{
		{[]string{"config:set", "shop", "A=1"}, []string{"config:set", "shop", "A=1"}},
		{[]string{"-a", "shop", "config:set", "A=1"}, []string{"config:set", "shop", "A=1"}},
		{[]string{"releases", "-a", "shop", "--json"}, []string{"releases", "shop", "--json"}},
		{[]string{"apps:list"}, []string{"apps:list"}},
	} {
		if got, _, done := runLaptop(ctx, tt.args); done || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("runLaptop(%q) = %q, %v; want %q for the host", tt.args, got, done, tt.want)
		}
	}
	var code int
	var done bool
	msg := stderrOf(t, func() { _, code, done = runLaptop(ctx, []string{"run", "-t", "shop", "bash"}) })
	if code == 0 || !done || !strings.Contains(msg, "ssh -t -p 2222 git@localhost run shop bash") {
		t.Errorf("run -t with no ssh = %d, %v, %q; want a refusal naming the ssh command", code, done, msg)
	}
}

func TestRunRemoteAdd_AddsTheRemoteOnceNamedAfterTheDirectory(t *testing.T) {
	laptopRepo(t, filepath.Join(t.TempDir(), "My Fresh_App"), nil)
	ctx := context.Background()
	var code int
	if code = runRemoteAdd(ctx, laptopOpts{}, []string{"example.com:2222"}); code != 0 {
		t.Fatalf("remote:add = %d", code)
	}
	if got := git(t, ".", "remote", "get-url", "deploy"); got != "ssh://git@example.com:2222/my-fresh-app" {
		t.Errorf("deploy = %q", got)
	}
	msg := stderrOf(t, func() { code = runRemoteAdd(ctx, laptopOpts{}, []string{"other.example.com"}) })
	if code == 0 || !strings.Contains(msg, "git remote set-url deploy ssh://git@other.example.com/my-fresh-app") {
		t.Errorf("a second remote:add = %d, %q; want a refusal saying how to change it", code, msg)
	}
	if code := runRemoteAdd(ctx, laptopOpts{remote: "staging"}, []string{"me@[::1]:2222", "shop-staging"}); code != 0 {
		t.Fatalf("remote:add --remote staging = %d", code)
	}
	if got := git(t, ".", "remote", "get-url", "staging"); got != "ssh://me@[::1]:2222/shop-staging" {
		t.Errorf("staging = %q", got)
	}
	// What it adds is a slipway remote that commands then go to.
	if t2, name, err := findTarget(ctx, "staging"); err != nil || name != "staging" || t2 != (sshTarget{"me", "::1", "2222", "shop-staging"}) {
		t.Errorf("findTarget(staging) = %+v, %q, %v", t2, name, err)
	}
}

func TestRemoteURL_RefusesWhatIsNoHost(t *testing.T) {
	for _, host := range []string{"-oProxyCommand=x", "a b", "example.com/x", "a@b@c", "example.com:http", ""} {
		if url, err := remoteURL(host, "shop"); err == nil {
			t.Errorf("remoteURL(%q) = %q, want an error", host, url)
		}
	}
	if _, err := remoteURL("example.com", "Shop"); err == nil {
		t.Error("remoteURL took the app name Shop")
	}
}

func TestAppNameOf(t *testing.T) {
	for in, want := range map[string]string{
		"shop": "shop", "My Fresh_App": "my-fresh-app", "2024-site": "site", "--x--y--": "x-y",
		"Ünïcode app": "n-code-app", "___": "", strings.Repeat("a", 62) + "-bc": strings.Repeat("a", 62),
	} {
		if got := appNameOf(in); got != want {
			t.Errorf("appNameOf(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestInfoURL_TheWebAddressOnly(t *testing.T) {
	info := "App:            shop\nURL:            http://shop.example.com:8080/\nLive release:   v3\n"
	if got, err := infoURL("shop", info); err != nil || got != "http://shop.example.com:8080/" {
		t.Errorf("infoURL = %q, %v", got, err)
	}
	for _, bad := range []string{"App: shop\n", "URL: file:///etc/passwd\n", "URL: javascript:alert(1)\n", "URL: -oops\n", "URL: http://a b/\n"} {
		if got, err := infoURL("shop", bad); err == nil {
			t.Errorf("infoURL(%q) = %q, want an error", bad, got)
		}
	}
}

// stderrOf runs f and returns what it wrote to os.Stderr.
func stderrOf(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stderr
	os.Stderr = w
	done := make(chan string)
	go func() { b, _ := io.ReadAll(r); done <- string(b) }()
	f()
	os.Stderr = old
	w.Close()
	return <-done
}

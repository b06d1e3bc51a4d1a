package registry

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sirupsen/logrus"
)

func TestRegistry_PushWithTokenPullWithPullToken(t *testing.T) {
	r := newTestRegistry(t, Config{})
	config, layer := randomLayer(t, 300<<10, 1), randomLayer(t, 700<<10, 2)
	img := imageOf(t, config, layer)
	if err := push(t, r.host+"/app:v1", img, remote.WithAuth(pusher)); err != nil {
		t.Fatalf("push with the admin token: %v", err)
	}
	got, err := pull(t, r.host+"/app:v1", remote.WithAuth(puller))
	if err != nil {
		t.Fatalf("pull with a pull token: %v", err)
	}
	if want := digestOf(t, img); got != want {
		t.Errorf("pulled %s, pushed %s", got, want)
	}

	ctx := ctxT(t)
	repos, err := r.Repositories(ctx)
	if err != nil || !slices.Equal(repos, []string{"app"}) {
		t.Errorf("Repositories = %q, %v; want [app]", repos, err)
	}
	tags, err := r.Tags(ctx, "app")
	if err != nil || !slices.Equal(tags, []string{"v1"}) {
		t.Errorf("Tags = %q, %v; want [v1]", tags, err)
	}
	info, err := r.Image(ctx, "app", "v1")
	if err != nil {
		t.Fatal(err)
	}
	cfgSize, _ := img.RawConfigFile()
	if want := int64(300<<10 + 700<<10 + len(cfgSize)); info.Size != want || info.Digest != digestOf(t, img).String() {
		t.Errorf("Image = %+v; want size %d, digest %s", info, want, digestOf(t, img))
	}
	if _, err := r.Image(ctx, "app", "v2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Image of a missing tag: %v, want ErrNotFound", err)
	}
	if _, err := r.Tags(ctx, "nothing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Tags of a missing repository: %v, want ErrNotFound", err)
	}
}

func TestRegistry_ChallengesWithoutOrWithWrongCredentials(t *testing.T) {
	r := newTestRegistry(t, Config{})
	for _, c := range []struct{ name, user, password string }{
		{"none", "", ""},
		{"wrong password", "slipway", "wrong"},
		{"empty password", "slipway", ""},
		{"admin token, other user", "root", pushToken + "x"},
	} {
		for _, path := range []string{"/v2/", "/v2/_catalog", "/v2/app/tags/list", "/v2/app/blobs/uploads/"} {
			method := http.MethodGet
			if strings.HasSuffix(path, "uploads/") {
				method = http.MethodPost
			}
			resp := r.do(t, method, path, c.user, c.password)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s %s with %s credentials: %s, want 401", method, path, c.name, resp.Status)
			}
			if got, want := resp.Header.Get("WWW-Authenticate"), `Basic realm="slipway"`; got != want {
				t.Errorf("%s %s: challenge %q, want %q", method, path, got, want)
			}
		}
	}
	// docker login: GET /v2/ with the credentials.
	for _, user := range []struct{ name, password string }{{"slipway", pushToken}, {"node1", pullToken}} {
		if resp := r.do(t, http.MethodGet, "/v2/", user.name, user.password); resp.StatusCode != http.StatusOK {
			t.Errorf("login as %s: %s, want 200", user.name, resp.Status)
		}
	}
	if err := push(t, r.host+"/app:v1", imageOf(t, randomLayer(t, 1000, 3))); err == nil {
		t.Error("anonymous push succeeded")
	}
}

func TestRegistry_PullTokenListsAndPullsButCannotPushOrDelete(t *testing.T) {
	r := newTestRegistry(t, Config{})
	img := imageOf(t, randomLayer(t, 10<<10, 4))
	if err := push(t, r.host+"/app:v1", img, remote.WithAuth(pusher)); err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	layer, _ := layers[0].Digest()
	for _, path := range []string{"/v2/_catalog", "/v2/app/tags/list", "/v2/app/blobs/" + layer.String()} {
		resp := r.do(t, http.MethodGet, path, "node1", pullToken)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s with a pull token: %s %s", path, resp.Status, body)
		}
		if path == "/v2/app/tags/list" && !strings.Contains(string(body), `"v1"`) {
			t.Errorf("tags list: %s", body)
		}
	}

	err := push(t, r.host+"/app:v2", imageOf(t, randomLayer(t, 10<<10, 5)), remote.WithAuth(puller))
	if err == nil || !strings.Contains(err.Error(), "DENIED") {
		t.Errorf("push with a pull token: %v, want DENIED", err)
	}
	// Retagging the pushed image needs no upload: still refused.
	if err := push(t, r.host+"/app:v2", img, remote.WithAuth(puller)); err == nil {
		t.Error("retag with a pull token succeeded")
	}
	for _, c := range []struct{ method, path string }{
		{http.MethodPost, "/v2/app/blobs/uploads/"},
		{http.MethodPost, "/v2/other/blobs/uploads/?mount=" + digestOf(t, img).String() + "&from=app"},
		{http.MethodDelete, "/v2/app/manifests/" + digestOf(t, img).String()},
		{http.MethodPut, "/v2/app/manifests/v3"},
	} {
		if resp := r.do(t, c.method, c.path, "node1", pullToken); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s %s with a pull token: %s, want 403", c.method, c.path, resp.Status)
		}
	}
	if tags, _ := r.Tags(ctxT(t), "app"); !slices.Equal(tags, []string{"v1"}) {
		t.Errorf("tags after the refused pushes: %q", tags)
	}
}

func TestRegistry_TransportPushesAndPullsInProcess(t *testing.T) {
	r := newTestRegistry(t, Config{})
	img := imageOf(t, randomLayer(t, 2<<20, 6), randomLayer(t, 100, 7))
	tr := remote.WithTransport(r.Transport())
	if err := push(t, "slipway.internal/app:v1", img, tr); err != nil {
		t.Fatalf("push in process: %v", err)
	}
	got, err := pull(t, "slipway.internal/app:v1", tr)
	if err != nil {
		t.Fatalf("pull in process: %v", err)
	}
	if got != digestOf(t, img) {
		t.Errorf("pulled %s, pushed %s", got, digestOf(t, img))
	}
	// The same image over the network, with a pull token.
	if got, err := pull(t, r.host+"/app:v1", remote.WithAuth(puller)); err != nil || got != digestOf(t, img) {
		t.Errorf("pull over HTTP: %s, %v", got, err)
	}
	// An image pushed over the network pulls in process, by digest too.
	img2 := imageOf(t, randomLayer(t, 5000, 8))
	if err := push(t, r.host+"/library/busybox:latest", img2, remote.WithAuth(pusher)); err != nil {
		t.Fatal(err)
	}
	if got, err := pull(t, "slipway.internal/library/busybox@"+digestOf(t, img2).String(), tr); err != nil || got != digestOf(t, img2) {
		t.Errorf("pull in process by digest: %s, %v", got, err)
	}
}

func TestRegistry_KeepsImagesAcrossRestart(t *testing.T) {
	root := t.TempDir() + "/registry"
	r := newTestRegistry(t, Config{Root: root})
	img := imageOf(t, randomLayer(t, 50<<10, 9))
	if err := push(t, r.host+"/app:v1", img, remote.WithAuth(pusher)); err != nil {
		t.Fatal(err)
	}
	r.srv.Close()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}

	r2 := newTestRegistry(t, Config{Root: root})
	if got, err := pull(t, r2.host+"/app:v1", remote.WithAuth(puller)); err != nil || got != digestOf(t, img) {
		t.Errorf("pull after a restart: %s, %v", got, err)
	}
	fi, err := os.Stat(root)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("root is %v, want 0700", fi.Mode().Perm())
	}
}

func TestRegistry_DistributionDoesNotPrint(t *testing.T) {
	newTestRegistry(t, Config{})
	if logrus.StandardLogger().Out != io.Discard {
		t.Error("distribution's logrus logger still prints")
	}
}

func TestNew_RefusesAMissingCheckOrRoot(t *testing.T) {
	if _, err := New(ctxT(t), Config{Root: t.TempDir()}); err == nil {
		t.Error("New without Check succeeded")
	}
	if _, err := New(ctxT(t), Config{Check: check}); err == nil {
		t.Error("New without Root succeeded")
	}
}

// Neither slipway's lines nor distribution's, at debug level, carry a
// password, whether it was right or wrong.
func TestRegistry_LogsNoPassword(t *testing.T) {
	var buf bytes.Buffer
	r := newTestRegistry(t, Config{Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	img := imageOf(t, randomLayer(t, 1000, 20))
	if err := push(t, r.host+"/app:v1", img, remote.WithAuth(pusher)); err != nil {
		t.Fatal(err)
	}
	_ = push(t, r.host+"/app:v2", imageOf(t, randomLayer(t, 1000, 21)), remote.WithAuth(puller))
	_ = push(t, r.host+"/app:v3", img, remote.WithAuth(&authn.Basic{Username: "slipway", Password: "wrong-secret"}))
	r.do(t, http.MethodGet, "/v2/app/manifests/nope", "node1", pullToken)
	if !strings.Contains(buf.String(), "credentials refused") {
		t.Errorf("no line for the refused credentials in:\n%s", buf.String())
	}
	for _, secret := range []string{pushToken, pullToken, "wrong-secret"} {
		if strings.Contains(buf.String(), secret) {
			t.Errorf("the log holds the password %q:\n%s", secret, buf.String())
		}
	}
}

// A user that Config.Repos limits reaches only the repositories it
// allows, and not the catalog; others are not limited.
func TestRegistry_ReposLimitAUser(t *testing.T) {
	r := newTestRegistry(t, Config{Repos: func(user string) func(string) bool {
		if user != "build-web" {
			return nil
		}
		return func(repo string) bool { return repo == "busybox" || repo == "web" }
	}})
	for i, repo := range []string{"busybox", "web", "other"} {
		must(t, push(t, r.host+"/"+repo+":v1", imageOf(t, randomLayer(t, 1<<10, uint64(i))), remote.WithAuth(pusher)))
	}
	build := remote.WithAuth(&authn.Basic{Username: "build-web", Password: pullToken})
	for repo, want := range map[string]bool{"busybox": true, "web": true, "other": false} {
		_, err := pull(t, r.host+"/"+repo+":v1", build)
		if (err == nil) != want {
			t.Errorf("build-web pulling %s: %v, want allowed %v", repo, err, want)
		}
	}
	if resp := r.do(t, "GET", "/v2/_catalog", "build-web", pullToken); resp.StatusCode == 200 {
		t.Error("a limited user read the catalog")
	}
	if _, err := pull(t, r.host+"/other:v1", remote.WithAuth(puller)); err != nil {
		t.Errorf("an unlimited pull credential: %v", err)
	}
}

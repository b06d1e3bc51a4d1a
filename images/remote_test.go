package images

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
)

// withBasicAuth lets through only requests with user:pass.
func withBasicAuth(user, pass string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if u, p, ok := r.BasicAuth(); !ok || u != user || p != pass {
				w.Header().Set("WWW-Authenticate", `Basic realm="slipway"`)
				http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func TestPushPull_NeedTheRightCredentials(t *testing.T) {
	ctx := context.Background()
	host := startRegistry(t, withBasicAuth("slipway", "token"))
	img := imageOfTars(t, makeTar(t, tarEntry{name: "a", data: "a"}))
	good := &authn.Basic{Username: "slipway", Password: "token"}
	bad := &authn.Basic{Username: "slipway", Password: "wrong"}
	for name, auth := range map[string]authn.Authenticator{"none": nil, "wrong": bad} {
		err := Push(ctx, img, host+"/app:v1", nil, auth)
		if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), host) {
			t.Errorf("push with %s credentials: %v, want ErrUnauthorized naming %s", name, err, host)
		}
	}
	if err := Push(ctx, img, host+"/app:v1", nil, good); err != nil {
		t.Fatal(err)
	}
	if _, err := Pull(ctx, host+"/app:v1", nil, bad); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("pull with wrong credentials: %v, want ErrUnauthorized", err)
	}
	pulled, err := Pull(ctx, host+"/app:v1", http.DefaultTransport, good)
	if err != nil {
		t.Fatal(err)
	}
	if digestOf(t, pulled) != digestOf(t, img) {
		t.Error("pulled another image than was pushed")
	}
}

func TestPull_SaysWhatIsWrong(t *testing.T) {
	ctx := context.Background()
	host := startRegistry(t, nil)
	_, err := Pull(ctx, host+"/nothing:v1", nil, nil)
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), host+"/nothing:v1") || !strings.Contains(err.Error(), "images:import") {
		t.Errorf("pull of a missing image: %v, want ErrNotFound naming it and what to do", err)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	if _, err := Pull(ctx, closed+"/app:v1", nil, nil); !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), closed) {
		t.Errorf("pull from a closed port: %v, want ErrUnreachable naming %s", err, closed)
	}

	for _, ref := range []string{"busybox:1.36", "app", "127.0.0.1:5000/UPPER:v1", ""} {
		if _, err := Pull(ctx, ref, nil, nil); err == nil || !strings.Contains(err.Error(), "HOST:PORT/NAME:TAG") {
			t.Errorf("pull %q: %v, want it refused with the form a reference takes", ref, err)
		}
	}
}

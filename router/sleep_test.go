package router

import (
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// An app whose live pool sleeps is woken by any request (lean server or
// net/http), which the awake pool answers; one whose wake fails answers
// 503, trying the wake once, not again and again.
func TestSleep_TheLivePoolWakesOnARequestOrAnswers503(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		r, srv, _ := front(t)
		c := client(t)
		var woken atomic.Int32
		awake := &Pool{App: "nap", Release: "v1", Instances: []*Instance{instance("web.1", backend(t, "awake", nil, nil))}}
		r.SetLive(NewSleeping("nap", "v1", func(s *Pool) error {
			woken.Add(1)
			if !r.Replace(s, awake) {
				return errors.New("not in the router")
			}
			return nil
		}))
		var failed atomic.Int32
		r.SetLive(NewSleeping("broken", "v1", func(*Pool) error {
			failed.Add(1)
			return errors.New("it does not start")
		}))

		for range 3 {
			if res := get(t, c, srv, "nap."+testDomain, "/"); res.code != http.StatusOK || !strings.Contains(res.body, "awake") {
				t.Errorf("nap: %d %q, want the awake pool's answer", res.code, res.body)
			}
		}
		if n := woken.Load(); n != 1 {
			t.Errorf("woken %d times, want once", n)
		}
		if res := get(t, c, srv, "broken."+testDomain, "/"); res.code != http.StatusServiceUnavailable {
			t.Errorf("an app that did not wake: %d, want 503", res.code)
		}
		if n := failed.Load(); n != 1 {
			t.Errorf("a failing wake was tried %d times for one request, want once", n)
		}
	})
}

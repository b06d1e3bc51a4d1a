package web

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slipway/slipway"
)

func TestAppPage_ShowsTheRunningSystem(t *testing.T) {
	f := newFakeBackend()
	f.releases["hello"] = append([]*slipway.Release{{
		App: "hello", Version: 5, Kind: slipway.KindConfig, Status: slipway.StatusBuilding,
		Config: map[string]string{"DATABASE_URL": "postgres://secret@db", "NEW": "x"}, CreatedAt: t0.Add(-10 * time.Second),
		PusherComment: "ops@laptop",
	}}, f.releases["hello"]...)
	for _, r := range f.releases["hello"] {
		if r.Version == 3 {
			r.StartedAt = r.CreatedAt
			r.Config = map[string]string{"DATABASE_URL": "postgres://old@db", "GONE": "y"}
		}
	}
	h := newTestHandler(t, f)
	w := h.do(req{path: "/apps/hello", bearer: testToken})
	if w.Code != http.StatusOK {
		t.Fatalf("GET /apps/hello = %d\n%s", w.Code, w.Body)
	}
	body := w.Body.String()
	for _, want := range []string{
		`<tr data-process="web.2" data-release="v3" data-state="crashed">`,
		`exited with status 3 &lt;b&gt;`, // escaped
		`<td class="num sessions">7</td>`,
		`>sleeping for 3m</span>`,
		`<li data-key="SECRET_KEY"><code>SECRET_KEY</code>`,
		`title="stored; the live release does not run with it yet">pending</span>`,
		`web.1 | listening &lt;script&gt;x&lt;/script&gt;`,
		`<span class="domain">www.example.com</span>`,
		`<span class="badge draining">maintenance</span>`,
		`data-follow="/api/apps/hello/releases/v5" data-follow-end="stop"`,
		`<div class="changes">added NEW; changed DATABASE_URL; removed GONE</div>`,
		`<code>ssh://git@example.test:2222/hello</code>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the app page lacks %q", want)
		}
	}
	if strings.Contains(body, "secret@db") || strings.Contains(body, "old@db") {
		t.Errorf("the app page shows a config value")
	}
	// The activity list merges releases and events, newest first.
	items := regexp.MustCompile(`<li data-kind="([a-z]+)">.*?<span class="by"[^>]*>([^<]*)</span> <span class="what">([^<]*)</span>`).FindAllStringSubmatch(body, -1)
	var got []string
	for _, m := range items {
		got = append(got, m[1]+" by "+m[2]+": "+m[3])
	}
	want := []string{
		"config by ops@laptop: config release v5: added NEW; changed DATABASE_URL; removed GONE",
		"scale by ops@laptop: scaled web=2",
		"push by ada@laptop: pushed c0ffee4 broken as v4 (failed)",
	}
	if len(got) < len(want) || strings.Join(got[:len(want)], "\n") != strings.Join(want, "\n") {
		t.Errorf("activity =\n%s\nwant it to start with\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestAppPage_NoReleaseShowsHowToPush(t *testing.T) {
	f := newFakeBackend()
	f.releases["fresh"] = nil
	h := newTestHandler(t, f)
	body := h.do(req{path: "/apps/fresh", bearer: testToken}).Body.String()
	if !strings.Contains(body, "git remote add deploy ssh://git@example.test:2222/fresh\ngit push deploy main") {
		t.Errorf("the page of an app with no release does not say how to push to it:\n%s", body)
	}
}

func TestAPIApp_StateFollowsChanges(t *testing.T) {
	h := newTestHandler(t, newFakeBackend())
	get := func() (string, AppDetail) {
		t.Helper()
		w := h.do(req{path: "/api/apps/hello", bearer: testToken})
		if w.Code != http.StatusOK {
			t.Fatalf("GET /api/apps/hello = %d %s", w.Code, w.Body)
		}
		var v struct {
			AppDetail
			State string `json:"state"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
			t.Fatal(err)
		}
		return v.State, v.AppDetail
	}
	s1, d := get()
	if s1 == "" || len(d.Processes) != 3 || d.Draining[0].Sessions != 7 {
		t.Fatalf("state %q, detail %+v", s1, d)
	}
	if s2, _ := get(); s2 != s1 {
		t.Errorf("the state changed with nothing else: %q, %q", s1, s2)
	}
	d2 := d
	d2.Processes = append([]Process(nil), d.Processes...)
	d2.Processes[1].Restarts++
	if detailState(&d2) == s1 {
		t.Errorf("a restart does not change the state")
	}
	if w := h.do(req{path: "/api/apps/nope", bearer: testToken}); w.Code != http.StatusNotFound {
		t.Errorf("GET /api/apps/nope = %d, want 404", w.Code)
	}
}

func TestDiffConfig(t *testing.T) {
	c := diffConfig(map[string]string{"A": "1", "B": "2", "C": "3"}, map[string]string{"A": "1", "B": "9", "D": "4"})
	if got := c.String(); got != "added D; changed B; removed C" {
		t.Errorf("diff = %q", got)
	}
	if !diffConfig(map[string]string{"A": "1"}, map[string]string{"A": "1"}).Empty() {
		t.Errorf("no change is not empty")
	}
}

package e2e

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The app page draws what slipway sampled (here every 100ms, so the
// window is 36 s): requests by status class, latency, 5xx, and the
// memory and CPU of the web and worker processes, as inline SVG with no
// script; the apps list has a sparkline of the app's requests. Chromium
// shows the charts at 1280 and 1600 px.
func TestPage_DrawsTheLastHour(t *testing.T) {
	const token = "test-token-0123456789abcdef0123456789"
	s := startServer(t, "--admin-token", token, "--stats-every", "100ms")
	app := staticApp("v1")
	// A worker that keeps a little busy, so its CPU shows.
	app["Procfile"] += "worker: while true; do i=0; while [ $i -lt 3000 ]; do i=$((i+1)); done; sleep 0.1; done\n"
	dir := s.newApp(app)
	s.mustGit(dir, "push", s.remote("shop"), "main")
	s.wantServes("shop", "/", "hello from v1")
	// Chromium starts before the traffic, which its start would slow.
	b := newBrowser(t)
	b.do("sign in",
		chromedp.Navigate("http://"+s.admin()+"/"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), token),
		chromedp.Submit(chromedp.ID("token")),
		chromedp.WaitVisible(chromedp.CSS(`#apps`)),
	)

	// Traffic: 2xx all along, 404s, and a burst of 501s (python's
	// http.server has no PATCH) in the middle.
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	enough := make(chan struct{}) // closed after 1,200 ticks, some 24 s
	wg.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if i == 1200 {
				close(enough)
			}
			send(ctx, "GET", s.httpAddr, "shop."+testDomain, "/")
			if i%4 == 0 {
				send(ctx, "GET", s.httpAddr, "shop."+testDomain, "/missing")
			}
			if i >= 500 && i < 650 {
				send(ctx, "PATCH", s.httpAddr, "shop."+testDomain, "/")
			}
		}
	})
	defer func() {
		stop()
		wg.Wait()
	}()

	admin := func(path string) string {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, "http://"+s.admin()+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d\n%s", path, resp.StatusCode, body)
		}
		return string(body)
	}
	legend := regexp.MustCompile(`<li class="([a-z0-9]+)"><span class="swatch" aria-hidden="true"></span>([^<]*) <b>([^<]*)</b></li>`)
	latest := func(page, chart string) map[string]string {
		i := strings.Index(page, `data-chart="`+chart+`"`)
		if i < 0 {
			return nil
		}
		j := strings.Index(page[i:], "</figure>")
		out := map[string]string{}
		for _, m := range legend.FindAllStringSubmatch(page[i:i+j], -1) {
			out[strings.TrimSpace(m[2])] = m[3]
		}
		return out
	}
	// Two thirds of the window with traffic, the 501 burst in it.
	select {
	case <-enough:
	case <-time.After(2 * time.Minute):
		t.Fatalf("the traffic did not get through 1,200 ticks in 2 minutes")
	}
	var page string
	waitFor(t, "the charts to draw 2xx, 4xx, 5xx, latency, memory and CPU", func() bool {
		page = admin("/apps/shop")
		req, errs, lat, mem, cpu := latest(page, "requests"), latest(page, "errors"), latest(page, "latency"), latest(page, "memory"), latest(page, "cpu")
		return req["2xx"] != "" && req["2xx"] != "0/s" && req["4xx"] != "0/s" &&
			strings.Contains(errs["5xx"], "now,") && !strings.Contains(errs["5xx"], " 0 in the last") &&
			lat["p50"] != "" && mem["web"] != "" && mem["worker"] != "" && cpu["worker"] != "" && cpu["worker"] != "—" &&
			strings.Count(regexp.MustCompile(`class="bars s5xx" d="([^"]*)"`).FindString(page), "M") >= 3
	})
	for _, want := range []string{
		`<section id="charts"`, `Last 36 seconds`, `sampled by slipway every 100ms`, `5xx responses per 100ms`,
		`role="img" aria-label="Requests per second, last 36 seconds: 2xx `,
		`<path class="line s2xx" d="M`, `<path class="line sp95" d="M`, `<path class="line t0" d="M`, `<path class="line t1" d="M`,
		`>-36s</text>`, `>-27s</text>`, `>now</text>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the app page lacks %s", want)
		}
	}
	charts := page[strings.Index(page, `<section id="charts"`):]
	charts = charts[:strings.Index(charts, "</section>")]
	if strings.Contains(charts, "<script") || strings.Contains(charts, "style=") {
		t.Errorf("the charts hold a script or an inline style")
	}
	if mem := latest(page, "memory"); !regexp.MustCompile(`^[0-9.]+[KM]$`).MatchString(mem["web"]) {
		t.Errorf("web's memory = %q, want a size", mem["web"])
	}

	index := admin("/")
	spark := regexp.MustCompile(`<tr data-app="shop">[\s\S]*?<td class="requests"><svg class="spark" [^>]*aria-label="Requests per second over the last 36 seconds: ([0-9.]+)/s now[^"]*"[^>]*>[\s\S]*?<path d="M[^"]+"`).FindStringSubmatch(index)
	if spark == nil || spark[1] == "0" {
		t.Errorf("the apps list has no sparkline of shop's requests:\n%s", index)
	}

	// The app page in chromium at 1280 and 1600 px.
	b.do("open the app page",
		chromedp.Navigate("http://"+s.admin()+"/apps/shop"),
		chromedp.WaitVisible(chromedp.CSS(`#charts svg.plot`)),
		// app.js redraws the charts every 2 s here: held still, so that
		// what is measured and shot is one drawing.
		chromedp.Evaluate[chromedp.Void](`window.fetch = () => new Promise(() => {})`),
	)
	for _, width := range []int64{1280, 1600} {
		b.do("size the window", chromedp.EmulateViewport(width, 900), chromedp.ScrollIntoView(chromedp.CSS(`#charts`)))
		drawn := eval[[]string](b, `[...document.querySelectorAll('#charts svg.plot')].map(svg => {
			const r = svg.getBoundingClientRect(), line = svg.querySelector('path');
			return svg.closest('figure').dataset.chart + ":" + (r.width > 300 && r.height > 100) + ":" + (!!line && line.getTotalLength() > 0);
		})`)
		if got := strings.Join(drawn, " "); got != "requests:true:true latency:true:true errors:true:true memory:true:true cpu:true:true" {
			t.Errorf("at %d px the charts are %s, want each at least 300 px wide with its lines drawn", width, got)
		}
		if fits := eval[bool](b, `document.documentElement.scrollWidth <= document.documentElement.clientWidth`); !fits {
			t.Errorf("at %d px the page scrolls sideways", width)
		}
		chartsShot(b, map[int64]string{1280: "app-page-charts-1280.png", 1600: "app-page-charts-1600.png"}[width])
	}
	if n := len(b.seenDialogs()); n != 0 {
		t.Errorf("%d dialogs opened", n)
	}
}

// send makes one request to the router, its outcome ignored: the charts
// count it.
func send(ctx context.Context, method, addr, host, path string) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "http://"+addr+path, nil)
	if err != nil {
		return
	}
	req.Host = host
	if resp, err := http.DefaultClient.Do(req); err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// chartsShot saves a PNG of the charts section as name in
// $SLIPWAY_ARTIFACTS, or in a temp dir, and logs where.
func chartsShot(b *browser, name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS(`#charts`)))
	if err != nil {
		b.t.Fatalf("browser: screenshot of the charts: %v", err)
	}
	b.saveShot(name, png)
}

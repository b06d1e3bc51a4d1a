package web

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slipway/slipway"
)

func TestAppsPage_SparklinePerApp(t *testing.T) {
	w := statsHandler(t, busyHour()).do(req{path: "/", bearer: testToken})
	body := w.Body.String()
	for _, want := range []string{
		`<th>Requests</th>`,
		`<td class="requests"><svg class="spark" viewBox="0 0 100 24"`,
		`aria-label="Requests per second over the last hour: 11/s now, at most 12.2/s"`,
		`<span class="spark-value">11/s</span>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the apps page lacks %s", want)
		}
	}
	if d := regexp.MustCompile(`<svg class="spark"[^>]*>.*?<path d="([^"]+)"`).FindStringSubmatch(body); d == nil || strings.Count(d[1], "M") != 2 {
		t.Errorf("the sparkline: %v, want two pieces", d)
	}
	w = statsHandler(t, slipway.AppStats{Every: 10 * time.Second, Window: time.Hour}).do(req{path: "/", bearer: testToken})
	if body := w.Body.String(); !strings.Contains(body, `<svg class="spark quiet"`) || !strings.Contains(body, `aria-label="No requests in the last hour"`) {
		t.Errorf("a quiet app's sparkline:\n%s", body)
	}
}

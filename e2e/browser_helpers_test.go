package e2e

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/slipway/slipway/internal/testutil"
)

// chromiumPath is Debian's chromium (apt-get install chromium); .ci/run
// installs it. SLIPWAY_CHROMIUM overrides it.
const chromiumPath = "/usr/bin/chromium"

// browser is one headless chromium tab driven over the DevTools protocol.
type browser struct {
	t   *testing.T
	ctx context.Context

	mu      sync.Mutex
	dialogs []page.EventJavascriptDialogOpening // every alert, confirm or prompt seen
}

// newBrowser starts a headless chromium with a fresh profile in a temp dir.
// Every confirm() is accepted and every other dialog dismissed; all are
// recorded. The test's cleanup kills the browser. Without chromium the test
// is skipped, except under CI, where it fails.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := chromiumPath
	if p := os.Getenv("SLIPWAY_CHROMIUM"); p != "" {
		path = p
	}
	if _, err := os.Stat(path); err != nil {
		testutil.Missing(t, "no browser at %s: apt-get install chromium", path)
	}
	profile := t.TempDir() // made before the cleanup below, so removed after it
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // root in CI
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1200, 900),
	)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	b := &browser{t: t, ctx: ctx}
	// The first call starts the browser and lives as long as it: no timeout.
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.dialogs = append(b.dialogs, ev)
			b.mu.Unlock()
			// Answered from here: the page, and the click that opened the
			// dialog, wait for it.
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: ev.Type == page.DialogTypeConfirm})
		}
	}()
	return b
}

// do runs steps, failing the test if they take more than a minute.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("browser: %s: %v", what, err)
	}
}

// text returns the textContent of the first element matching the CSS selector.
func (b *browser) text(css string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(css)))
	if err != nil {
		b.t.Fatalf("browser: text of %s: %v", css, err)
	}
	return s
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("browser: eval %s: %v", expr, err)
	}
	return v
}

// seenDialogs returns the dialogs opened so far.
func (b *browser) seenDialogs() []page.EventJavascriptDialogOpening {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]page.EventJavascriptDialogOpening(nil), b.dialogs...)
}

// screenshot saves a full-page PNG as name in $SLIPWAY_ARTIFACTS, or in a
// temp dir, and logs where.
func (b *browser) screenshot(name string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		b.t.Fatalf("browser: screenshot: %v", err)
	}
	return b.saveShot(name, png)
}

// saveShot saves png as name in $SLIPWAY_ARTIFACTS, or in a temp dir,
// logs where and returns the path.
func (b *browser) saveShot(name string, png []byte) string {
	b.t.Helper()
	dir := os.Getenv("SLIPWAY_ARTIFACTS")
	if dir == "" {
		dir = b.t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", path)
	return path
}

// admin returns the admin address slipway logged.
func (s *server) admin() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.adminAddr
}

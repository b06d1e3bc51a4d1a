package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"

	"github.com/slipway/slipway"
	"golang.org/x/sys/unix"
)

// openUsage is open's usage: on a laptop the app comes from the remote.
const openUsage = "open NAME (from a clone of the app: slipway open)"

// appInfo runs apps:info app, its output to out, and returns the exit
// status; it has said why on standard error when that is not 0.
type appInfo func(ctx context.Context, app string, out io.Writer) int

// runOpen is `slipway open`: it prints the app's URL, as apps:info shows
// it, and when standard output is a terminal opens it in the browser too
// (xdg-open, or open on macOS); a machine without one still has the URL.
func runOpen(ctx context.Context, args []string, info appInfo) int {
	switch {
	case slices.Contains(args, "-h") || slices.Contains(args, "--help"):
		fmt.Printf("Usage: slipway %s\n\nprint the app's URL, and open it in a browser when on a terminal\n", openUsage)
		return 0
	case len(args) != 1:
		fmt.Fprintf(os.Stderr, "slipway: usage: slipway %s\n", openUsage)
		return 2
	}
	if err := slipway.ValidateAppName(args[0]); err != nil {
		return cliFail(err)
	}
	var out bytes.Buffer
	if code := info(ctx, args[0], &limitedWriter{w: &out, n: 1 << 20}); code != 0 {
		return code
	}
	u, err := infoURL(args[0], out.String())
	if err != nil {
		return cliFail(err)
	}
	fmt.Println(u)
	if isTerminal(os.Stdout) {
		browse(u)
	}
	return 0
}

// infoURL is the URL line of apps:info's output: an http or https URL
// only, which is all a browser is given.
func infoURL(app, info string) (string, error) {
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "URL:")
		if !ok {
			continue
		}
		raw := strings.TrimSpace(rest)
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.ContainsAny(raw, " \t\x00") {
			return "", slipway.Errorf(slipway.EINVALID, "apps:info %s shows the URL %q, which is not a web address", app, slipway.OneLine(raw, 100))
		}
		return raw, nil
	}
	return "", slipway.Errorf(slipway.ENOTFOUND, "%s has no URL yet: deploy it first (git push %s main)", app, DefaultRemote)
}

// browse opens u in the user's browser if there is a way to, and says
// nothing when there is none: the URL is printed already.
func browse(u string) {
	opener := "xdg-open"
	if runtime.GOOS == "darwin" {
		opener = "open" // on Linux, open is often openvt
	}
	path, err := exec.LookPath(opener)
	if err != nil {
		return
	}
	cmd := exec.Command(path, u)
	if cmd.Start() == nil {
		cmd.Process.Release() // the browser outlives slipway
	}
}

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// sshInfo is apps:info over ssh on t.
func sshInfo(t sshTarget) appInfo {
	return func(ctx context.Context, app string, out io.Writer) int {
		line, err := quoteCommand([]string{"apps:info", app})
		if err != nil {
			return cliFail(err)
		}
		code, err := runSSH(ctx, t, line, sshIO{out: out})
		if err != nil {
			return cliFail(err)
		}
		return code
	}
}

// adminInfo is apps:info through the admin API on this host.
func adminInfo(ctx context.Context, app string, out io.Writer) int {
	client, err := clientFlags(flag.NewFlagSet("slipway open", flag.ContinueOnError))()
	if err != nil {
		return cliFail(err)
	}
	if err := client.Command(ctx, "apps:info", []string{app}, nil, out); err != nil {
		return cliFail(err)
	}
	return 0
}

// limitedWriter keeps the first n bytes written to it and drops the rest.
type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if k := min(len(p), l.n); k > 0 {
		l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}

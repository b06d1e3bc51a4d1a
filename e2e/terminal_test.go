package e2e

import (
	"strings"
	"testing"
)

// What a build or an app prints cannot drive the viewer's terminal: the
// pusher's `remote:` lines and `logs` carry no escape sequence but
// colours, no control character but tab and newline.
func TestTerminal_BuildAndAppOutputCannotDriveIt(t *testing.T) {
	s := startServer(t)
	evil := `printf '\033]52;c;cm0gLXJmIH4K\007\033]0;owned\007\033[31mred\033[0m\033[2Jdone\n'`
	app := staticApp("v1")
	app["app.json"] = `{"scripts":{"build":"` + strings.ReplaceAll(evil, `\`, `\\`) + `"}}`
	app["Procfile"] = "web: " + evil + "; exec python3 -m http.server --bind 127.0.0.1 $PORT\n"
	dir := s.newApp(app)
	out := s.mustGit(dir, "push", s.remote("term"), "main")
	// The app log gets a process's lines as the supervisor reads them
	// from its file, a moment after the push may have ended.
	var logs string
	waitFor(t, "the web process's line in logs", func() bool {
		logs, _ = s.ssh(s.key, "logs", "term", "-n", "100")
		return strings.Contains(logs, "web.1 v1: ")
	})
	for name, text := range map[string]string{"push output": out, "logs": logs} {
		if !strings.Contains(text, "done") {
			t.Errorf("%s lacks the output:\n%q", name, text)
		}
		if strings.Contains(text, "\x1b]") || strings.Contains(text, "\x07") || strings.Contains(text, "\x1b[2J") {
			t.Errorf("%s passes escape sequences:\n%q", name, text)
		}
		if !strings.Contains(text, "\x1b[31mred\x1b[0m") {
			t.Errorf("%s lost the colours:\n%q", name, text)
		}
	}
}

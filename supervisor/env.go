package supervisor

import (
	"os"
	"strings"
)

// AppEnv returns the environment of an app's process: built from scratch
// rather than inherited, so that slipway's own settings (the admin token
// among them) never reach an app. PATH is path followed by the entries of
// slipway's PATH that an app may read (ReadablePath); vars (config, PORT,
// DYNO, SLIPWAY_*) come after the basics and win.
func AppEnv(home string, path []string, vars ...string) []string {
	p := ReadablePath(os.Getenv("PATH"))
	if len(path) > 0 {
		p = strings.Join(path, ":") + ":" + p
	}
	env := []string{"PATH=" + p, "HOME=" + home, "LANG=C.UTF-8"}
	env = append(env, vars...)
	for _, k := range []string{"TZ", "USER", "LOGNAME", "SHELL"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

package commands

import (
	"context"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/slipway/slipway"
)

// Every command answers --help with its usage, and none lacks one.
func TestCommands_EveryCommandHasHelp(t *testing.T) {
	cmds := Funcs(nil)
	if len(cmds) != len(table) {
		t.Errorf("%d commands bound, %d in the table", len(cmds), len(table))
	}
	for _, c := range table {
		if c.Usage == "" || c.Help == "" || !strings.HasPrefix(c.Usage, c.Name) {
			t.Errorf("%s: usage %q, help %q", c.Name, c.Usage, c.Help)
		}
		var out strings.Builder
		if err := cmds[c.Name](t.Context(), []string{"--help"}, nil, &out); err != nil {
			t.Errorf("%s --help: %v", c.Name, err)
		}
		if !strings.HasPrefix(out.String(), "Usage: "+c.Usage) {
			t.Errorf("%s --help = %q", c.Name, out.String())
		}
	}
}

// recorder is an Apps that records what the commands asked for.
type recorder struct {
	unexpected // nil: a method the test does not expect panics
	calls      []string
}

// unexpected names the embedded Apps, whose own name would hide its Apps
// method.
type unexpected = Apps

func (r *recorder) Scale(_ context.Context, app string, changes []slipway.ScaleChange, _ io.Writer) error {
	for _, c := range changes {
		r.calls = append(r.calls, app+" "+c.Type+"="+string(rune('0'+c.Count)))
	}
	return nil
}

func (r *recorder) Logs(_ context.Context, app string, opt slipway.LogOptions, _ io.Writer) error {
	r.calls = append(r.calls, app+" "+opt.Process+" "+string(rune('0'+opt.Lines))+" "+map[bool]string{true: "follow", false: "once"}[opt.Follow])
	return nil
}

func (r *recorder) SetAccessLog(_ context.Context, app string, on bool, _ io.Writer) error {
	r.calls = append(r.calls, app+" access "+map[bool]string{true: "on", false: "off"}[on])
	return nil
}

func (r *recorder) SetConfig(_ context.Context, app string, set map[string]string, unset []string, noRestart bool, _ io.Writer) (*slipway.Release, error) {
	r.calls = append(r.calls, app+" set="+set["K"]+" unset="+strings.Join(unset, ",")+" "+map[bool]string{true: "stored", false: "released"}[noRestart])
	return nil, nil
}

// wordsCase is a command's words and the calls they make (joined by |),
// or the error they get.
type wordsCase struct {
	name string
	args []string
	want string // the call, or the error
}

// checkWords runs each case's command on a new fake, with empty input,
// and checks that the calls it recorded, or the error, hold want.
func checkWords(t *testing.T, fake func() (Apps, *[]string), cases []wordsCase) {
	t.Helper()
	for _, tc := range cases {
		a, calls := fake()
		err := Run(t.Context(), a, tc.name, tc.args, strings.NewReader(""), io.Discard)
		got := strings.Join(*calls, "|")
		if err != nil {
			got = slipway.ErrorMessage(err)
		}
		if !strings.Contains(got, tc.want) {
			t.Errorf("%s %q: got %q, want %q", tc.name, tc.args, got, tc.want)
		}
	}
}

func TestCommands_ParseTheirWords(t *testing.T) {
	checkWords(t, func() (Apps, *[]string) { r := &recorder{}; return r, &r.calls }, []wordsCase{
		{"ps:scale", []string{"shop", "web=3", "worker=2"}, "shop web=3|shop worker=2"},
		{"ps:scale", []string{"shop", "web"}, `"web": want TYPE=COUNT such as web=3 (usage: ps:scale NAME TYPE=N...)`},
		{"ps:scale", []string{"Shop", "web=1"}, "invalid app name"},
		{"logs", []string{"shop", "-t", "-n", "5", "-p", "web"}, "shop web 5 follow"},
		{"logs", []string{"shop", "--bogus"}, `unknown flag "--bogus"`},
		{"logs", []string{"shop", "-n", "0"}, "want a number of lines from 1 to 100000"},
		{"logs", []string{"shop", "-p", "router"}, "shop router 0 once"},
		{"logs:access", []string{"shop", "off"}, "shop access off"},
		{"logs:access", []string{"shop", "on"}, "shop access on"},
		{"logs:access", []string{"shop"}, "usage: logs:access NAME on|off"},
		{"logs:access", []string{"shop", "yes"}, "usage: logs:access NAME on|off"},
		{"logs:access", []string{"Shop", "off"}, "invalid app name"},
		{"config:set", []string{"shop", "--no-restart", "K=a b=c"}, "shop set=a b=c unset= stored"},
		{"config:set", []string{"shop", "K"}, `"K": want KEY=VALUE`},
		{"config:set", []string{"shop", "PORT=1"}, "set by slipway"},
		{"config:unset", []string{"shop", "A", "B"}, "shop set= unset=A,B released"},
		{"config:unset", []string{"shop"}, "usage: config:unset NAME [--no-restart] KEY..."},
		{"rollback", []string{"shop", "three"}, `"three" is not a release version`},
		{"apps:destroy", []string{"shop", "--confirm", "other"}, `--confirm "other" does not match "shop"`},
		{"nope", nil, `unknown command "nope"`},
	})
}

func TestNames_WrapsAndLeavesOut(t *testing.T) {
	got := Names("  ", 40, "releases", "rollback")
	for _, line := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
		if len(line) > 40 || !strings.HasPrefix(line, "  ") {
			t.Errorf("line %q: want at most 40 columns, indented", line)
		}
	}
	words := strings.Fields(got)
	if slices.Contains(words, "releases") || !slices.Contains(words, "apps:list") || len(words) != len(table)-2 {
		t.Errorf("Names = %q", got)
	}
}

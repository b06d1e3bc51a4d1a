package commands

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slipway/slipway"
)

// services is an Apps whose backing services' use cases record what the
// commands asked for; its apps' use cases are unexpected.
type services struct {
	unexpected
	calls []string
	list  []slipway.ServiceStatus
	dump  []byte // what ExportService writes
	in    []byte // what ImportService read
	term  slipway.Terminal
	code  int // ConnectService's exit status
}

func (s *services) call(format string, args ...any) {
	s.calls = append(s.calls, fmt.Sprintf(format, args...))
}

func (s *services) CreateService(_ context.Context, k slipway.ServiceKind, name, version string, _ io.Writer) error {
	s.call("create %s %s %q", k, name, version)
	return nil
}

func (s *services) LinkService(_ context.Context, k slipway.ServiceKind, name, app string, _ io.Writer) (string, error) {
	s.call("link %s %s %s", k, name, app)
	return k.LinkVar(name, true), nil
}

func (s *services) UnlinkService(_ context.Context, k slipway.ServiceKind, name, app string, _ io.Writer) error {
	s.call("unlink %s %s %s", k, name, app)
	return nil
}

func (s *services) Services(_ context.Context, k slipway.ServiceKind) ([]slipway.ServiceStatus, error) {
	s.call("list %s", k)
	return s.list, nil
}

func (s *services) Service(_ context.Context, k slipway.ServiceKind, name string, reveal bool) (*slipway.ServiceStatus, error) {
	s.call("info %s %s %t", k, name, reveal)
	for _, st := range s.list {
		if st.Name == name {
			svc := slipway.BackingService{Name: name, Kind: k, Port: 5433, Password: "s3cret"}
			st.URL = svc.URL(reveal)
			return &st, nil
		}
	}
	return nil, slipway.Errorf(slipway.ENOTFOUND, "no service named %q", name)
}

func (s *services) ServiceLogs(_ context.Context, k slipway.ServiceKind, name string, opt slipway.LogOptions, _ io.Writer) error {
	s.call("logs %s %s %d %t", k, name, opt.Lines, opt.Follow)
	return nil
}

func (s *services) RestartService(_ context.Context, k slipway.ServiceKind, name string, _ io.Writer) error {
	s.call("restart %s %s", k, name)
	return nil
}

func (s *services) StopService(_ context.Context, k slipway.ServiceKind, name string, _ io.Writer) error {
	s.call("stop %s %s", k, name)
	return nil
}

func (s *services) StartService(_ context.Context, k slipway.ServiceKind, name string, _ io.Writer) error {
	s.call("start %s %s", k, name)
	return nil
}

func (s *services) ConnectService(_ context.Context, k slipway.ServiceKind, name string, t slipway.Terminal) (int, error) {
	s.call("connect %s %s", k, name)
	s.term = t
	return s.code, nil
}

func (s *services) ExportService(_ context.Context, k slipway.ServiceKind, name string, out io.Writer) error {
	s.call("export %s %s", k, name)
	for chunk := range slices.Chunk(s.dump, 7) {
		if _, err := out.Write(chunk); err != nil {
			return err
		}
	}
	return nil
}

func (s *services) ImportService(_ context.Context, k slipway.ServiceKind, name string, in io.Reader, _ io.Writer) error {
	s.call("import %s %s", k, name)
	var err error
	s.in, err = io.ReadAll(in)
	return err
}

func (s *services) BackupService(_ context.Context, k slipway.ServiceKind, name string, _ io.Writer) (slipway.BackupInfo, error) {
	s.call("backup %s %s", k, name)
	return slipway.BackupInfo{Name: name + "-20261207T031500Z.dump", Size: 3 << 20, Taken: time.Now()}, nil
}

func (s *services) ServiceBackups(_ context.Context, k slipway.ServiceKind, name string) ([]slipway.BackupInfo, error) {
	s.call("backups %s %s", k, name)
	var list []slipway.BackupInfo
	for _, st := range s.list {
		if st.Name == name && st.LastBackup != nil {
			list = append(list, *st.LastBackup)
		}
	}
	return list, nil
}

func (s *services) RestoreService(_ context.Context, k slipway.ServiceKind, name, backup string, _ io.Writer) error {
	s.call("restore %s %s %s", k, name, backup)
	return nil
}

func (s *services) ScheduleBackups(_ context.Context, k slipway.ServiceKind, name, spec string, keep int, _ io.Writer) error {
	s.call("schedule %s %s %q keep %d", k, name, spec, keep)
	return nil
}

func (s *services) DestroyService(_ context.Context, k slipway.ServiceKind, name string, _ io.Writer) error {
	s.call("destroy %s %s", k, name)
	return nil
}

// Each kind has every command, between the apps' commands and version, in
// the same order, and each answers --help.
func TestServiceCommands_InTheTableWithHelp(t *testing.T) {
	var names []string
	for _, c := range table {
		if isServiceCommand(c.Name) {
			names = append(names, c.Name)
		}
	}
	verbs := []string{"list", "create", "info", "link", "unlink", "connect", "logs", "restart", "stop", "start", "export", "import",
		"backup", "backups", "restore", "backup-schedule", "destroy"}
	var want []string
	for _, k := range []string{"postgres", "redis"} {
		for _, v := range verbs {
			if k == "redis" && (v == "export" || v == "import") {
				continue
			}
			want = append(want, k+":"+v)
		}
	}
	if !slices.Equal(names, want) {
		t.Errorf("service commands = %q, want %q", names, want)
	}
	i := slices.IndexFunc(table, func(c Command) bool { return c.Name == want[0] })
	if i < 1 || table[i-1].Name != "rollback" || table[i+len(want)].Name != "images:list" {
		t.Errorf("the service commands stand at %d, not between rollback and the images' commands", i)
	}
	for _, name := range want {
		var out strings.Builder
		if err := Run(t.Context(), &services{}, name, []string{"NAME", "--help"}, nil, &out); err != nil {
			t.Errorf("%s --help: %v", name, err)
		}
		c, _ := Find(name)
		if got := out.String(); got != "Usage: "+c.Usage+"\n\n"+c.Help+"\n" || strings.Contains(got, "{") {
			t.Errorf("%s --help = %q", name, got)
		}
	}
	for _, name := range []string{"postgres:connect", "redis:connect"} {
		if c, _ := Find(name); !c.ReadsInput() || !strings.Contains(c.Help, "ssh -t") {
			t.Errorf("%s: reads input %t, help %q: want an attached command whose help says ssh -t", name, c.ReadsInput(), c.Help)
		}
	}
	if c, _ := Find("postgres:import"); !c.ReadsInput() {
		t.Error("postgres:import does not read standard input")
	}
}

func TestServiceCommands_ParseTheirWords(t *testing.T) {
	checkWords(t, func() (Apps, *[]string) { s := &services{}; return s, &s.calls }, []wordsCase{
		{"postgres:create", []string{"db", "--version", "15"}, `create postgres db "15"`},
		{"postgres:create", []string{"--version", "16", "db"}, `create postgres db "16"`},
		{"redis:create", []string{"cache"}, `create redis cache ""`},
		{"redis:create", []string{"cache", "--version", "7"}, `create redis cache "7"`},
		{"postgres:create", []string{"db", "--version", "../15"}, `--version "../15": want a major version such as 16`},
		{"postgres:create", []string{"db", "--version"}, "--version needs a value"},
		{"postgres:create", []string{"db", "other"}, "usage: postgres:create NAME [--version N]"},
		{"postgres:create", []string{"Db"}, `invalid service name "Db"`},
		{"postgres:create", []string{"db", "--force"}, `unknown flag "--force"`},
		{"postgres:link", []string{"db", "shop"}, "link postgres db shop"},
		{"redis:link", []string{"cache", "Shop"}, `invalid app name`},
		{"postgres:link", []string{"db"}, "usage: postgres:link NAME APP"},
		{"redis:unlink", []string{"cache", "shop"}, "unlink redis cache shop"},
		{"postgres:logs", []string{"db", "-t", "-n", "50"}, "logs postgres db 50 true"},
		{"redis:logs", []string{"--num", "5", "cache"}, "logs redis cache 5 false"},
		{"postgres:logs", []string{"db", "-n", "0"}, `-n "0": want a number of lines from 1 to 100000`},
		{"postgres:logs", []string{"db", "-p", "web"}, `unknown flag "-p"`},
		{"postgres:restart", []string{"db"}, "restart postgres db"},
		{"redis:stop", []string{"cache"}, "stop redis cache"},
		{"redis:start", []string{"cache"}, "start redis cache"},
		{"redis:start", nil, "usage: redis:start NAME"},
		{"postgres:backup", []string{"db"}, "backup postgres db"},
		{"postgres:backups", []string{"db"}, "backups postgres db"},
		{"postgres:restore", []string{"db", "db-20261207T031500Z.dump"}, "restore postgres db db-20261207T031500Z.dump"},
		{"postgres:restore", []string{"db", "../../etc/shadow"}, `"../../etc/shadow" is no backup's name: postgres:backups db lists them`},
		{"postgres:backup-schedule", []string{"db", "0", "3", "*", "*", "*"}, `schedule postgres db "0 3 * * *" keep 7`},
		{"postgres:backup-schedule", []string{"db", "0 3  * * 1-5", "--keep", "3"}, `schedule postgres db "0 3 * * 1-5" keep 3`},
		{"redis:backup-schedule", []string{"cache", "--keep", "2", "@daily"}, `schedule redis cache "@daily" keep 2`},
		{"redis:backup-schedule", []string{"cache", "off"}, `schedule redis cache "off" keep 7`},
		{"redis:backup-schedule", []string{"cache", "@every", "1h"}, `schedule redis cache "@every 1h" keep 7`},
		{"postgres:backup-schedule", []string{"db", "@daily", "--keep", "0"}, `--keep "0": want how many scheduled backups to keep from 1 to 1000`},
		{"postgres:backup-schedule", []string{"db"}, "usage: postgres:backup-schedule NAME SPEC [--keep N]"},
		{"postgres:destroy", []string{"db", "--confirm", "db"}, "destroy postgres db"},
		{"postgres:destroy", []string{"db", "--confirm", "other"}, `--confirm "other" does not match "db": type the service's name to destroy it`},
		{"redis:destroy", []string{"cache"}, "usage: redis:destroy NAME --confirm NAME"},
		{"redis:export", []string{"cache"}, `unknown command "redis:export"`},
	})
}

// A bad name is refused in one line before the layer hears of it.
func TestServiceCommands_BadNamesInOneLine(t *testing.T) {
	bad := "db\n\x1b[2Jevil"
	for _, c := range table {
		_, verb, _ := strings.Cut(c.Name, ":")
		if !isServiceCommand(c.Name) || verb == "list" {
			continue
		}
		tries := map[string][][]string{ // the words after NAME
			"link": {{"shop"}}, "unlink": {{"shop"}}, "restore": {{"db-1.dump"}}, "backup-schedule": {{"@daily"}}, "destroy": {{"--confirm", bad}},
		}[verb]
		if tries == nil {
			tries = [][]string{nil}
		}
		for _, rest := range tries {
			check := func(args []string, want string) {
				s := &services{}
				err := Run(t.Context(), s, c.Name, args, strings.NewReader(""), io.Discard)
				msg := slipway.ErrorMessage(err)
				if !strings.HasPrefix(msg, want) || strings.ContainsAny(msg, "\n\x1b") || len(s.calls) > 0 {
					t.Errorf("%s %q: error %q, calls %q: want one line starting %q and no call", c.Name, args, msg, s.calls, want)
				}
			}
			check(append([]string{bad}, rest...), "invalid service name")
			if verb == "link" || verb == "unlink" {
				check([]string{"db", "shop\n\x1b[2Jevil"}, "invalid app name")
			}
		}
	}
}

// A key limited to some apps runs none of them: a service holds the
// password of every app linked to it.
func TestServiceCommands_RestrictedKeysAreRefused(t *testing.T) {
	limited := slipway.WithCaller(t.Context(), slipway.Pusher{Fingerprint: "SHA256:x", Apps: []string{"shop"}})
	every := slipway.WithCaller(t.Context(), slipway.Pusher{Fingerprint: "SHA256:y"})
	for _, c := range table {
		if !isServiceCommand(c.Name) {
			continue
		}
		for _, args := range [][]string{{"shop", "shop"}, nil} {
			s := &services{}
			err := Run(limited, s, c.Name, args, strings.NewReader(""), io.Discard)
			if want := c.Name + " needs a key that may reach every app; this one may reach shop"; slipway.ErrorMessage(err) != want || len(s.calls) > 0 {
				t.Errorf("%s %q by a limited key: error %v, calls %q; want %q", c.Name, args, err, s.calls, want)
			}
		}
	}
	s := &services{}
	if err := Run(every, s, "postgres:link", []string{"db", "shop"}, nil, io.Discard); err != nil || len(s.calls) != 1 {
		t.Errorf("postgres:link by a key for every app: %v, calls %q", err, s.calls)
	}
}

func testServices() *services {
	now := time.Now()
	return &services{list: []slipway.ServiceStatus{
		{Name: "db", Kind: slipway.Postgres, Version: "16", State: "running", PID: 4242, Since: now.Add(-3 * time.Hour), Restarts: 1, Size: 23 << 20,
			Links:          []slipway.ServiceLink{{Service: "db", App: "shop", Var: "DATABASE_URL"}, {Service: "db", App: "blog", Var: "DATABASE_DB_URL"}},
			LastBackup:     &slipway.BackupInfo{Name: "db-20261207T031500Z.dump", Size: 1536 << 10, Taken: now.Add(-5 * time.Hour)},
			BackupSchedule: "0 3 * * *", BackupKeep: 7, Limits: slipway.Limits{Memory: 512 << 20}},
		{Name: "spare", Kind: slipway.Postgres, Version: "15", State: "stopped", Size: 900},
	}}
}

func TestServiceCommands_ListAndInfo(t *testing.T) {
	run := func(s *services, name string, args ...string) string {
		t.Helper()
		var out strings.Builder
		if err := Run(t.Context(), s, name, args, nil, &out); err != nil {
			t.Fatalf("%s %q: %v", name, args, err)
		}
		return out.String()
	}
	s := testServices()
	list := run(s, "postgres:list")
	for _, want := range []string{
		"NAME   VERSION  STATE    LINKED-APPS  SIZE  LAST-BACKUP\n",
		"db     16       running  shop,blog    23M   5h ago\n",
		"spare  15       stopped  -            900B  never\n",
	} {
		if !strings.Contains(list, want) {
			t.Errorf("postgres:list =\n%s\nwant a line %q", list, want)
		}
	}
	var js []slipway.ServiceStatus
	if err := json.Unmarshal([]byte(run(s, "postgres:list", "--json")), &js); err != nil || len(js) != 2 || js[0].Links[1].Var != "DATABASE_DB_URL" {
		t.Errorf("postgres:list --json: %v, %+v", err, js)
	}
	if got := run(&services{}, "redis:list"); got != "no redis services: create one with redis:create NAME\n" {
		t.Errorf("redis:list of none = %q", got)
	}
	if got := run(&services{}, "redis:list", "--json"); got != "[]\n" {
		t.Errorf("redis:list --json of none = %q", got)
	}

	info := run(s, "postgres:info", "db")
	for _, want := range []string{
		"Service:          db (PostgreSQL 16)\n",
		"State:            running\n",
		"PID:              4242\n",
		"(3h ago)\n",
		"Size:             23M\n",
		"Linked apps:      shop (DATABASE_URL), blog (DATABASE_DB_URL)\n",
		"URL:              postgres://postgres:********@127.0.0.1:5433/db  (--reveal shows the password)\n",
		"Last backup:      db-20261207T031500Z.dump (1.5M, 5h ago)\n",
		"Backup schedule:  0 3 * * *, keeping the newest 7\n",
		"Limits:           memory=512M\n",
	} {
		if !strings.Contains(info, want) {
			t.Errorf("postgres:info db =\n%s\nwant %q", info, want)
		}
	}
	if strings.Contains(info, "s3cret") {
		t.Errorf("postgres:info db shows the password:\n%s", info)
	}
	revealed := run(s, "postgres:info", "db", "--reveal")
	if !strings.Contains(revealed, "URL:              postgres://postgres:s3cret@127.0.0.1:5433/db\n") {
		t.Errorf("postgres:info db --reveal =\n%s", revealed)
	}
	if last := s.calls[len(s.calls)-1]; last != "info postgres db true" {
		t.Errorf("--reveal asked the layer %q", last)
	}
	var one slipway.ServiceStatus
	if err := json.Unmarshal([]byte(run(s, "postgres:info", "--json", "db")), &one); err != nil || one.Name != "db" || !strings.Contains(one.URL, "********") {
		t.Errorf("postgres:info --json db: %v, %+v", err, one)
	}
	spare := run(s, "postgres:info", "spare")
	for _, want := range []string{"Linked apps:      none (postgres:link spare APP links one)\n", "Last backup:      none (postgres:backup spare takes one)\n",
		"Backup schedule:  none (postgres:backup-schedule spare @daily sets one)\n", "Limits:           none\n"} {
		if !strings.Contains(spare, want) {
			t.Errorf("postgres:info spare =\n%s\nwant %q", spare, want)
		}
	}
	if strings.Contains(spare, "PID:") || strings.Contains(spare, "Since:") {
		t.Errorf("postgres:info of a stopped service shows a pid or since:\n%s", spare)
	}

	backups := run(s, "postgres:backups", "db")
	if !strings.HasPrefix(backups, "NAME                      SIZE  TAKEN\ndb-20261207T031500Z.dump  1.5M  ") || !strings.HasSuffix(backups, " UTC (5h ago)\n") {
		t.Errorf("postgres:backups db = %q", backups)
	}
	if got := run(s, "postgres:backups", "spare"); got != "spare has no backups: take one with postgres:backup spare\n" {
		t.Errorf("postgres:backups of none = %q", got)
	}
	if got := run(s, "postgres:link", "db", "shop"); !strings.Contains(got, "as DATABASE_URL") {
		t.Errorf("postgres:link = %q: want the var it set", got)
	}
}

// The dump is standard output: its bytes, all of them, and nothing else.
func TestServiceCommands_ExportAndImportPassBytesThrough(t *testing.T) {
	dump := []byte("PGDMP\x01\x0e\x00\x04\x08\x01\x01\x01\x00\xff\xfe\r\n\r\x1b[2J\x00tail")
	s := &services{dump: dump}
	var out bytes.Buffer
	if err := Run(t.Context(), s, "postgres:export", []string{"db"}, nil, &out); err != nil || !bytes.Equal(out.Bytes(), dump) {
		t.Errorf("postgres:export wrote %q (%v), want %q", out.Bytes(), err, dump)
	}
	out.Reset()
	if err := Run(t.Context(), s, "postgres:import", []string{"db"}, bytes.NewReader(dump), &out); err != nil || !bytes.Equal(s.in, dump) {
		t.Errorf("postgres:import read %q (%v), want %q", s.in, err, dump)
	}
}

// connect is attached like run: to the session's terminal, or on the host
// to the command's input and output, and passes the exit status through.
func TestServiceCommands_ConnectIsAttached(t *testing.T) {
	var stdout strings.Builder
	term := slipway.Terminal{Stdin: strings.NewReader("\\q\n"), Stdout: &stdout, Pty: true, Term: "xterm"}
	s := &services{code: 3}
	err := Run(slipway.WithTerminal(t.Context(), term), s, "postgres:connect", []string{"db"}, nil, io.Discard)
	if status, ok := err.(slipway.ExitStatus); !ok || status != 3 || !s.term.Pty || s.term.Stdout != &stdout {
		t.Errorf("postgres:connect: error %v, terminal %+v: want exit status 3 on the session's terminal", err, s.term)
	}
	s = &services{}
	in, out := strings.NewReader("PING\n"), &strings.Builder{}
	if err := Run(t.Context(), s, "redis:connect", []string{"cache"}, in, out); err != nil || s.term.Stdin != in || s.term.Stdout != out || s.term.Pty {
		t.Errorf("redis:connect on the host: error %v, terminal %+v: want its input and output", err, s.term)
	}
}

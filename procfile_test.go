package slipway

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseProcfile(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Procfile
	}{
		{"one line", "web: ./server --port $PORT\n", Procfile{{"web", "./server --port $PORT"}}},
		{"no final newline", "web: ./server", Procfile{{"web", "./server"}}},
		{"order kept", "worker: ./work\nweb: ./serve\nclock: ./tick\n",
			Procfile{{"worker", "./work"}, {"web", "./serve"}, {"clock", "./tick"}}},
		{"comments and blank lines", "# processes\n\n  # indented comment\nweb: a\n\n\t\nworker: b\n",
			Procfile{{"web", "a"}, {"worker", "b"}}},
		{"CRLF", "web: a\r\nworker: b c\r\n", Procfile{{"web", "a"}, {"worker", "b c"}}},
		{"colons in the command", "web: node server.js --x=a:b\n", Procfile{{"web", "node server.js --x=a:b"}}},
		{"url in the command", "web: ./s --db=postgres://u:p@h:5432/d", Procfile{{"web", "./s --db=postgres://u:p@h:5432/d"}}},
		{"spaces around", "  web  :   ./s   \n", Procfile{{"web", "./s"}}},
		{"no space after colon", "web:./s", Procfile{{"web", "./s"}}},
		{"type characters", "Web_2-x: a\n9: b\n", Procfile{{"Web_2-x", "a"}, {"9", "b"}}},
		{"names beside router's", "Router: a\nrouter-2: b\nrouters: c\n", Procfile{{"Router", "a"}, {"router-2", "b"}, {"routers", "c"}}},
		{"hash inside command", "web: ./s # not a comment", Procfile{{"web", "./s # not a comment"}}},
		{"empty", "", nil},
		{"only comments", "# nothing\n\n", nil},
		{"one line of the maximum size", "web: " + strings.Repeat("a", maxProcfileSize-5),
			Procfile{{"web", strings.Repeat("a", maxProcfileSize-5)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseProcfile([]byte(tt.in))
			if err != nil {
				t.Fatalf("ParseProcfile: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseProcfile(%q) = %#v, want %#v", short(tt.in), got, tt.want)
			}
		})
	}
}

func TestParseProcfile_Errors(t *testing.T) {
	tests := []struct {
		name, in, wantErr string
	}{
		{"missing colon", "web ./server\n", `line 1: want "type: command"`},
		{"missing colon on a later line", "# c\n\nweb: a\nworker b\n", "line 4:"},
		{"empty type", ": ./server", `process type ""`},
		{"bad type", "web server: ./s", `process type "web server"`},
		{"type with dot", "web.1: ./s", `process type "web.1"`},
		{"type starting with dash", "-web: ./s", `process type "-web"`},
		{"type too long", strings.Repeat("a", 64) + ": ./s", "process type"},
		{"empty command", "web:\n", `process type "web" has no command`},
		{"blank command", "web:   \t\n", "has no command"},
		{"NUL in command", "web: a\x00b", "NUL"},
		{"duplicate", "web: a\nworker: b\nweb: c\n", `line 3: process type "web" is listed twice`},
		{"too large", strings.Repeat("#\n", maxProcfileSize/2+1), "larger than 64 KiB"},
		{"router is the router's", "web: ./s\nrouter: ./route\n", `line 2: process type "router" is reserved for the router's access lines (logs -p router): rename it`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseProcfile([]byte(tt.in))
			if err == nil {
				t.Fatalf("ParseProcfile(%q) = %#v, want an error", short(tt.in), got)
			}
			if !errors.Is(err, ErrProcfile) {
				t.Errorf("error %q does not wrap ErrProcfile", err)
			}
			if msg := err.Error(); !strings.Contains(msg, tt.wantErr) || strings.ContainsAny(msg, "\n\r") {
				t.Errorf("error = %q, want one line containing %q", msg, tt.wantErr)
			}
		})
	}
}

func TestProcfile_Command(t *testing.T) {
	p := Procfile{{"web", "./serve"}, {"worker", "./work"}}
	tests := []struct {
		typ    string
		want   string
		wantOK bool
	}{
		{"web", "./serve", true},
		{"worker", "./work", true},
		{"clock", "", false},
		{"Web", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := p.Command(tt.typ)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("Command(%q) = %q, %v; want %q, %v", tt.typ, got, ok, tt.want, tt.wantOK)
		}
	}
	if got, ok := Procfile(nil).Command("web"); got != "" || ok {
		t.Errorf("nil Procfile: Command(web) = %q, %v; want \"\", false", got, ok)
	}
}

func FuzzParseProcfile(f *testing.F) {
	for _, s := range []string{
		"web: ./server --port $PORT\n", "web: a\r\nworker: b\r\n", "# c\n\nweb: x:y:z\n",
		"web", "web:", ": x", "web: a\nweb: b", "web: a\x00", "\r\n\r\n", "web:\r", " # x\n\tweb\t:\tx\t",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		procs, err := ParseProcfile(data)
		if err != nil {
			if !errors.Is(err, ErrProcfile) {
				t.Fatalf("error %q does not wrap ErrProcfile", err)
			}
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("error %q is not one line", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, p := range procs {
			if !processTypeRE.MatchString(p.Type) {
				t.Fatalf("ParseProcfile(%q): type %q does not match %s", data, p.Type, processTypeRE)
			}
			if p.Command == "" || strings.ContainsAny(p.Command, "\x00\n") {
				t.Fatalf("ParseProcfile(%q): bad command %q for %q", data, p.Command, p.Type)
			}
			if p.Command != strings.TrimSpace(p.Command) {
				t.Fatalf("ParseProcfile(%q): command %q is not trimmed", data, p.Command)
			}
			if seen[p.Type] {
				t.Fatalf("ParseProcfile(%q): type %q listed twice", data, p.Type)
			}
			seen[p.Type] = true
			if got, ok := procs.Command(p.Type); !ok || got != p.Command {
				t.Fatalf("Command(%q) = %q, %v; want %q", p.Type, got, ok, p.Command)
			}
		}
	})
}

// short keeps huge test inputs out of failure messages.
func short(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

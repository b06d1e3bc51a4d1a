package slipway

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// dokkuExample is the healthchecks example from Dokku's documentation
// (docs/deployment/zero-downtime-deploys.md), with the fields slipway does not
// read left in.
const dokkuExample = `{
  "healthchecks": {
    "web": [
      {
        "type": "startup",
        "name": "web check",
        "description": "Checking if the app responds to the /health/ready endpoint",
        "path": "/health/ready",
        "attempts": 3,
        "content": "ok",
        "httpHeaders": [{"name": "X-Forwarded-Proto", "value": "https"}],
        "initialDelay": 2,
        "port": 5000,
        "scheme": "http",
        "timeout": 10,
        "wait": 1
      },
      {
        "type": "liveness",
        "name": "liveness check",
        "command": ["/app/script.sh"],
        "attempts": 5
      }
    ]
  }
}`

func TestParseAppJSON_DokkuHealthchecks(t *testing.T) {
	a, err := ParseAppJSON([]byte(dokkuExample))
	if err != nil {
		t.Fatalf("ParseAppJSON: %v", err)
	}
	want := map[string][]Healthcheck{"web": {
		{
			Type: "startup", Name: "web check", Path: "/health/ready", Attempts: 3, Content: "ok",
			HTTPHeaders:  []Header{{Name: "X-Forwarded-Proto", Value: "https"}},
			InitialDelay: 2, Port: 5000, Scheme: "http", Timeout: 10, Wait: 1,
		},
		{Type: "liveness", Name: "liveness check", Attempts: 5},
	}}
	if !reflect.DeepEqual(a.Healthchecks, want) {
		t.Errorf("Healthchecks = %#v, want %#v", a.Healthchecks, want)
	}
}

func TestParseAppJSON_IgnoresUnknownFields(t *testing.T) {
	in := `{
	  "name": "myapp",
	  "description": "Heroku fields slipway does not use",
	  "keywords": ["a"],
	  "env": {"SECRET": {"generator": "secret"}},
	  "addons": ["heroku-postgresql"],
	  "buildpacks": [{"url": "heroku/go"}],
	  "scripts": {"dokku": {"predeploy": "x"}, "postdeploy": "y", "build": "make"},
	  "cron": [{"command": "./cleanup", "schedule": "@daily", "extra": true}],
	  "formation": {"web": {"quantity": 2, "size": "standard-1x"}},
	  "stack": "heroku-24"
	}`
	a, err := ParseAppJSON([]byte(in))
	if err != nil {
		t.Fatalf("ParseAppJSON: %v", err)
	}
	if got, want := a.Name, "myapp"; got != want {
		t.Errorf("Name = %q, want %q", got, want)
	}
	if got, want := a.Scripts.Build, "make"; got != want {
		t.Errorf("Scripts.Build = %q, want %q", got, want)
	}
	if got, want := a.Cron, []CronJob{{Command: "./cleanup", Schedule: "@daily"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("Cron = %#v, want %#v", got, want)
	}
	if got, want := a.Quantity("web", 1), 2; got != want {
		t.Errorf("Quantity(web) = %d, want %d", got, want)
	}
}

func TestParseAppJSON_Empty(t *testing.T) {
	for _, in := range []string{"{}", " {} \n", "{}\r\n\t", "null"} {
		a, err := ParseAppJSON([]byte(in))
		if err != nil {
			t.Errorf("ParseAppJSON(%q): %v", in, err)
			continue
		}
		if !reflect.DeepEqual(*a, AppJSON{}) {
			t.Errorf("ParseAppJSON(%q) = %#v, want the zero AppJSON", in, a)
		}
	}
}

func TestAppJSON_Quantity(t *testing.T) {
	a, err := ParseAppJSON([]byte(`{"formation": {"web": {"quantity": 3}, "worker": {"quantity": 0}, "clock": {}}}`))
	if err != nil {
		t.Fatalf("ParseAppJSON: %v", err)
	}
	tests := []struct {
		a    *AppJSON
		typ  string
		def  int
		want int
	}{
		{a, "web", 1, 3},
		{a, "worker", 1, 0}, // an explicit 0 is not the default
		{a, "clock", 1, 1},  // no quantity
		{a, "missing", 2, 2},
		{&AppJSON{}, "web", 1, 1},
		{nil, "web", 1, 1},
	}
	for _, tt := range tests {
		if got, want := tt.a.Quantity(tt.typ, tt.def), tt.want; got != want {
			t.Errorf("Quantity(%q, %d) = %d, want %d", tt.typ, tt.def, got, want)
		}
	}
}

func TestParseAppJSON_Errors(t *testing.T) {
	tests := []struct {
		name, in, wantErr string
	}{
		{"empty file", "", "empty"},
		{"only spaces", " \n", "empty"},
		{"not an object", `[]`, "top level must be a JSON object"},
		{"a string", `"x"`, "top level must be a JSON object"},
		{"syntax", `{"name": }`, "syntax error at byte"},
		{"unterminated", `{"name": "x"`, "unexpected end"},
		{"trailing garbage", `{} x`, "after the top-level object"},
		{"trailing object", `{}{}`, "after the top-level object"},
		{"trailing brace", `{}}`, "after the top-level object"},
		{"trailing bracket", `{} ]`, "after the top-level object"},
		{"too large", `{"name":"` + strings.Repeat("a", maxAppJSONSize) + `"}`, "larger than 1 MiB"},

		{"name wrong type", `{"name": 5}`, `field "name" has the wrong type (got number)`},
		{"scripts wrong type", `{"scripts": "make"}`, `field "scripts" has the wrong type`},
		{"build wrong type", `{"scripts": {"build": ["make"]}}`, `field "scripts.build" has the wrong type`},
		{"formation wrong type", `{"formation": []}`, `field "formation" has the wrong type`},
		{"quantity wrong type", `{"formation": {"web": {"quantity": "2"}}}`, `quantity" has the wrong type (got string)`},
		{"quantity fraction", `{"formation": {"web": {"quantity": 1.5}}}`, `quantity" has the wrong type (got number 1.5)`},
		{"healthchecks not a list", `{"healthchecks": {"web": {"path": "/"}}}`, `field "healthchecks`},
		{"attempts wrong type", `{"healthchecks": {"web": [{"attempts": "3"}]}}`, `attempts" has the wrong type (got string)`},
		{"headers wrong type", `{"healthchecks": {"web": [{"httpHeaders": {"a": "b"}}]}}`, `httpHeaders" has the wrong type`},
		{"cron wrong type", `{"cron": {"command": "x"}}`, `field "cron" has the wrong type`},

		{"formation bad type", `{"formation": {"web server": {"quantity": 1}}}`, `formation: process type "web server"`},
		{"quantity negative", `{"formation": {"web": {"quantity": -1}}}`, "formation.web.quantity -1: use 0 to 100"},
		{"quantity too big", `{"formation": {"web": {"quantity": 101}}}`, "formation.web.quantity 101: use 0 to 100"},
		{"healthchecks bad type", `{"healthchecks": {"a\nb": [{}]}}`, `healthchecks: process type "a\nb"`},
		{"check type", `{"healthchecks": {"web": [{}, {"type": "ready"}]}}`, `healthchecks.web[1].type "ready": use startup, liveness or readiness`},
		{"check path", `{"healthchecks": {"web": [{"path": "health"}]}}`, `healthchecks.web[0].path "health" must start with /`},
		{"check scheme", `{"healthchecks": {"web": [{"scheme": "https"}]}}`, `healthchecks.web[0].scheme "https": only http is supported`},
		{"check attempts", `{"healthchecks": {"web": [{"attempts": 101}]}}`, "healthchecks.web[0]: attempts, timeout"},
		{"check attempts negative", `{"healthchecks": {"web": [{"attempts": -1}]}}`, "healthchecks.web[0]: attempts, timeout"},
		{"check timeout", `{"healthchecks": {"web": [{"timeout": 601}]}}`, "healthchecks.web[0]: attempts, timeout"},
		{"check wait", `{"healthchecks": {"web": [{"wait": -1}]}}`, "healthchecks.web[0]: attempts, timeout"},
		{"check initialDelay", `{"healthchecks": {"web": [{"initialDelay": 601}]}}`, "healthchecks.web[0]: attempts, timeout"},
		{"check port", `{"healthchecks": {"web": [{"port": 65536}]}}`, "healthchecks.web[0].port 65536 is not a port"},
		{"check port negative", `{"healthchecks": {"web": [{"port": -1}]}}`, "healthchecks.web[0].port -1 is not a port"},
		{"port overflow", `{"healthchecks": {"web": [{"port": 1e30}]}}`, `port" has the wrong type`},
		{"cron no schedule", `{"cron": [{"command": "./x"}]}`, "cron[0] needs a command and a schedule"},
		{"cron blank command", `{"cron": [{"command": " ", "schedule": "@daily"}]}`, "cron[0] needs a command and a schedule"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAppJSON([]byte(tt.in))
			if err == nil {
				t.Fatalf("ParseAppJSON(%q) = %#v, want an error", short(tt.in), got)
			}
			checkAppJSONErr(t, err)
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

// checkAppJSONErr checks what every ParseAppJSON error promises: it wraps
// ErrAppJSON and is one line without Go's names for types.
func checkAppJSONErr(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrAppJSON) {
		t.Errorf("error %q does not wrap ErrAppJSON", err)
	}
	msg := err.Error()
	if strings.ContainsAny(msg, "\n\r") {
		t.Errorf("error %q is not one line", msg)
	}
	for _, goName := range []string{"slipway.", "main.", "AppJSON", "Healthcheck", "Formation", "Go ", "int", "struct", "[]"} {
		if strings.Contains(msg, goName) {
			t.Errorf("error %q shows Go's name %q", msg, goName)
		}
	}
}

func TestHealthcheck_Defaults(t *testing.T) {
	tests := []struct {
		name string
		in   Healthcheck
		want Healthcheck
	}{
		{"zero", Healthcheck{}, Healthcheck{Type: "startup", Attempts: 3, Timeout: 5, Wait: 5, Scheme: "http", Path: "/"}},
		{"set fields kept", Healthcheck{Type: "liveness", Attempts: 1, Timeout: 2, Wait: 3, Scheme: "http", Path: "/up", Port: 8080, Content: "ok", InitialDelay: 4},
			Healthcheck{Type: "liveness", Attempts: 1, Timeout: 2, Wait: 3, Scheme: "http", Path: "/up", Port: 8080, Content: "ok", InitialDelay: 4}},
		{"negative replaced", Healthcheck{Attempts: -1, Timeout: -1, Wait: -1}, Healthcheck{Type: "startup", Attempts: 3, Timeout: 5, Wait: 5, Scheme: "http", Path: "/"}},
	}
	for _, tt := range tests {
		if got := tt.in.Defaults(); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: Defaults() = %#v, want %#v", tt.name, got, tt.want)
		}
	}
	if got, want := (Healthcheck{}).Defaults().Timeout, int(DefaultHealthTimeout.Seconds()); got != want {
		t.Errorf("default Timeout = %d, want DefaultHealthTimeout (%d)", got, want)
	}
}

func FuzzParseAppJSON(f *testing.F) {
	for _, s := range []string{
		dokkuExample, "{}", "", "null", "[]", `{} }`, `{"formation":{"web":{"quantity":2}}}`,
		`{"healthchecks":{"web":[{"attempts":"x"}]}}`, `{"healthchecks":{"a\nb":[{"type":"x"}]}}`,
		`{"cron":[{"command":"x","schedule":"@daily"}]}`, `{"name":"\u0000"}`, `{"scripts":{"build":1}}`,
		`{"formation":{"web":{"quantity":1e99}}}`, `{"healthchecks":{"web":[{"port":-1,"path":"x"}]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ParseAppJSON(data)
		if err != nil {
			if a != nil {
				t.Fatalf("ParseAppJSON(%q) returned %#v with error %v", data, a, err)
			}
			if !errors.Is(err, ErrAppJSON) {
				t.Fatalf("error %q does not wrap ErrAppJSON", err)
			}
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("error %q is not one line", err)
			}
			return
		}
		for typ, f := range a.Formation {
			if !processTypeRE.MatchString(typ) {
				t.Fatalf("ParseAppJSON(%q): formation type %q accepted", data, typ)
			}
			if q := a.Quantity(typ, -1); f.Quantity != nil && (q < 0 || q > 100) {
				t.Fatalf("ParseAppJSON(%q): quantity %d accepted", data, q)
			}
		}
		for typ, checks := range a.Healthchecks {
			if !processTypeRE.MatchString(typ) {
				t.Fatalf("ParseAppJSON(%q): healthchecks type %q accepted", data, typ)
			}
			for _, c := range checks {
				if d := c.Defaults(); !strings.HasPrefix(d.Path, "/") || d.Scheme != "http" || d.Attempts < 1 || d.Port < 0 || d.Port > 65535 {
					t.Fatalf("ParseAppJSON(%q): check %#v accepted", data, d)
				}
			}
		}
	})
}
